"""Pure logic: no devices, files, models or network. Everything here is fast to import."""
