"""A private PulseAudio server with a virtual speaker and microphone, for the device tests.

The machines that run the tests (CI included) have no sound card. :class:`VirtualAudio` starts
a PulseAudio daemon of its own, in a temporary folder, with:

- ``vi_speaker``: a null sink, the default output. What is played there can be recorded from
  its monitor source ``vi_speaker.monitor`` (see :meth:`VirtualAudio.record_speaker`);
- ``vi_mic_feed``: a null sink standing for the air in front of the microphone: whatever is
  played into it (:meth:`VirtualAudio.play_into_mic`) the microphone hears;
- ``vi_mic``: a remap of ``vi_mic_feed.monitor`` (a real source, not a monitor), the default
  input.

How the daemon runs (works as root without ``--system``, no D-Bus, no sound card):

    pulseaudio --daemonize=no --system=false --exit-idle-time=-1 -n -F <tmp>/test.pa
               --use-pid-file=no --disable-shm=yes --realtime=no --high-priority=no
               --log-target=stderr

with HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR, PULSE_RUNTIME_PATH and PULSE_STATE_PATH all under
the temporary folder, so nothing is written to the real home or /run. ``-n`` skips the system
default.pa (no udev, no ALSA card detection); ``test.pa`` loads only the native protocol on
``<tmp>/run/native`` with anonymous auth, the sinks and the source. Root gets a warning
("not intended to be run as root") and nothing else.

How clients find it: :attr:`VirtualAudio.env` holds ``PULSE_SERVER=unix:<tmp>/run/native``,
``PULSE_COOKIE`` (a file in the temporary folder, so clients do not create ~/.config/pulse)
and ``PULSE_CLIENTCONFIG`` (``autospawn = no``). pactl, paplay and parecord read them, and so
does PortAudio: Debian's pulseaudio package installs ``/etc/alsa/conf.d/99-pulse.conf``, whose
hook makes ALSA's ``default`` PCM the PulseAudio plugin (from libasound2-plugins) whenever a
PulseAudio server is reachable, so sounddevice lists ``pulse`` and ``default`` (the default
input and output). No ALSA configuration file is written.

PortAudio enumerates devices once, when sounddevice is imported; :meth:`VirtualAudio.activate`
sets the variables in this process and, when sounddevice was imported before, restarts
PortAudio (``sounddevice._terminate()`` / ``_initialize()``, the documented way to rescan) so
it sees the virtual devices; on exit it restores the variables and rescans again. A subprocess
(e.g. the CLI) gets them with ``env=va.client_env()``.

An idle null sink renders in blocks of up to 2 s, so a stream opened on it would get its first
audio up to 2 s late; :meth:`VirtualAudio.start` therefore keeps one 20 ms ``pacat`` recorder
on ``vi_mic`` and one on ``vi_speaker.monitor`` for the server's lifetime (see
:class:`_KeepAlive`), and returns once audio flows (about 2 s after the daemon is up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SPEAKER_SINK = "vi_speaker"
MIC_FEED_SINK = "vi_mic_feed"
MIC_SOURCE = "vi_mic"

_TOOLS = ("pulseaudio", "pactl", "pacat", "paplay", "parecord")
_INSTALL_HINT = (
    "run `make system-deps` as root (installs pulseaudio, pulseaudio-utils, "
    "libasound2-plugins and libportaudio2)"
)


class PulseError(RuntimeError):
    """The virtual sound server cannot be started or used."""


class VirtualAudio:
    """A private PulseAudio daemon rooted in ``folder``; see the module docstring.

    Without ``folder`` a short-named temporary folder is made (a unix socket path must stay
    under 108 bytes) and removed by :meth:`stop`.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._own_folder = folder is None
        self.folder = folder or Path(tempfile.mkdtemp(prefix="vi-pulse-"))
        self.socket = self.folder / "run" / "native"
        self.log_path = self.folder / "pulseaudio.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._keep_alive: list[_KeepAlive] = []

    @property
    def env(self) -> dict[str, str]:
        """Variables that point a PulseAudio (or PortAudio-through-ALSA) client at this server."""
        return {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_COOKIE": str(self.folder / "cookie"),
            "PULSE_CLIENTCONFIG": str(self.folder / "client.conf"),
        }

    def start(self, timeout_s: float = 15.0) -> None:
        missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
        if missing:
            raise PulseError(f"{', '.join(missing)} not found; {_INSTALL_HINT}")
        for sub in ("run", "state", "config", "home"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "run").chmod(0o700)
        (self.folder / "client.conf").write_text("autospawn = no\n")
        script = self.folder / "test.pa"
        script.write_text(
            "\n".join(
                [
                    f"load-module module-native-protocol-unix socket={self.socket}"
                    " auth-anonymous=1",
                    f"load-module module-null-sink sink_name={SPEAKER_SINK}"
                    " sink_properties=device.description=Virtual_speaker",
                    f"load-module module-null-sink sink_name={MIC_FEED_SINK}"
                    " sink_properties=device.description=Air_in_front_of_the_mic",
                    f"load-module module-remap-source source_name={MIC_SOURCE}"
                    f" master={MIC_FEED_SINK}.monitor"
                    " source_properties=device.description=Virtual_microphone",
                    f"set-default-sink {SPEAKER_SINK}",
                    f"set-default-source {MIC_SOURCE}",
                    "",
                ]
            )
        )
        daemon_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULSE_", "DBUS_", "XDG_")) and key != "DISPLAY"
        }
        daemon_env.update(
            HOME=str(self.folder / "home"),
            XDG_CONFIG_HOME=str(self.folder / "config"),
            XDG_RUNTIME_DIR=str(self.folder / "run"),
            PULSE_RUNTIME_PATH=str(self.folder / "run"),
            PULSE_STATE_PATH=str(self.folder / "state"),
        )
        command = [
            "pulseaudio",
            "--daemonize=no",
            "--system=false",
            "--exit-idle-time=-1",
            "-n",
            "-F",
            str(script),
            "--use-pid-file=no",
            "--disable-shm=yes",
            "--realtime=no",
            "--high-priority=no",
            "--log-target=stderr",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                env=daemon_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in pytest must not reach it before teardown
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process.poll() is not None:
                raise PulseError(
                    f"pulseaudio exited with code {self._process.returncode}: {self._log_tail()}"
                )
            probe = subprocess.run(
                ["pactl", "info"], env=self.client_env(), capture_output=True, text=True
            )
            if probe.returncode == 0 and f"Default Source: {MIC_SOURCE}" in probe.stdout:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise PulseError(
                    f"pulseaudio did not come up within {timeout_s:.0f} s "
                    f"({probe.stderr.strip() or probe.stdout.strip()}): {self._log_tail()}"
                )
            time.sleep(0.1)
        for source in (MIC_SOURCE, f"{SPEAKER_SINK}.monitor"):
            self._keep_alive.append(_KeepAlive(source, self.client_env()))
        for keeper in self._keep_alive:
            if not keeper.flowing.wait(timeout_s):
                self.stop()
                raise PulseError(f"no audio flows from {keeper.source} within {timeout_s:.0f} s")

    def stop(self) -> None:
        for keeper in self._keep_alive:
            keeper.stop()
        self._keep_alive.clear()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def kill(self) -> None:
        """Kill the daemon abruptly, as when a sound card vanishes; :meth:`stop` still cleans up."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)

    def __enter__(self) -> VirtualAudio:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client_env(self) -> dict[str, str]:
        """This process's environment with the server's variables, for a client subprocess."""
        return {**os.environ, **self.env}

    def pactl(self, *args: str) -> str:
        result = subprocess.run(
            ["pactl", *args], env=self.client_env(), capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def play_into_mic(self, wav: Path) -> subprocess.Popen[bytes]:
        """Start playing ``wav`` into the air in front of the virtual microphone."""
        return subprocess.Popen(
            ["paplay", f"--device={MIC_FEED_SINK}", str(wav)],
            env=self.client_env(),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def record_speaker(self, wav: Path, sample_rate: int = 16000) -> subprocess.Popen[bytes]:
        """Start recording what the virtual speaker plays to ``wav`` (mono, 16-bit) and return
        once parecord is writing (0.1 s of audio on disk, within 5 s); stop the recording with
        ``terminate()``, which leaves a complete WAV file."""
        recorder = subprocess.Popen(
            [
                "parecord",
                f"--device={SPEAKER_SINK}.monitor",
                "--file-format=wav",
                "--format=s16le",
                f"--rate={sample_rate}",
                "--channels=1",
                "--latency-msec=20",
                str(wav),
            ],
            env=self.client_env(),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 5
        while not wav.exists() or wav.stat().st_size < 44 + sample_rate // 10 * 2:
            if time.monotonic() > deadline:
                recorder.kill()
                raise AssertionError(f"parecord wrote nothing to {wav} in 5 s")
            time.sleep(0.02)
        return recorder

    @contextlib.contextmanager
    def echo(self, gain_db: float) -> Iterator[None]:
        """Feed the virtual speaker back into the virtual microphone at ``gain_db`` while in
        the block (module-loopback, 30 ms latency): the interviewer's voice reaching the
        microphone, as through laptop speakers, on a linear echo path (a delay and a gain)."""
        module = self.pactl(
            "load-module",
            "module-loopback",
            f"source={SPEAKER_SINK}.monitor",
            f"sink={MIC_FEED_SINK}",
            "latency_msec=30",
            "source_dont_move=true",
            "sink_dont_move=true",
        ).strip()
        try:
            deadline = time.monotonic() + 5
            while True:  # the loopback's stream appears once it runs
                blocks = self.pactl("list", "sink-inputs").split("Sink Input #")[1:]
                mine = [b.split()[0] for b in blocks if f"Owner Module: {module}" in b]
                if mine:
                    self.pactl("set-sink-input-volume", mine[0], f"{gain_db:g}dB")
                    break
                if time.monotonic() > deadline:
                    raise PulseError(f"the loopback (module {module}) has no sink input")
                time.sleep(0.1)
            yield
        finally:
            self.pactl("unload-module", module)

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Point this process (and sounddevice in it) at the server; undo on exit."""
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        _rescan_portaudio()
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _rescan_portaudio()

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])


class _KeepAlive:
    """A low-latency recorder on ``source`` whose audio is thrown away.

    An idle null sink renders in blocks of up to 2 s, and only picks up a new listener's
    latency when its current block ends, so a recording started on an idle virtual device gets
    its first audio 0.1 to 2 s late (measured: 1.1 to 2.0 s for most streams). One permanent
    20 ms listener keeps each chain awake, so every stream the tests open starts within about
    0.1 s, as on a sound card.
    """

    def __init__(self, source: str, env: dict[str, str]) -> None:
        self.source = source
        self.flowing = threading.Event()
        self._process = subprocess.Popen(
            ["pacat", "--record", "--raw", "--latency-msec=20", f"--device={source}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._drain, name=f"keep-{source}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        assert self._process.stdout is not None
        while self._process.stdout.read1(4096):
            self.flowing.set()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._thread.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _rescan_portaudio() -> None:
    """Make an already imported sounddevice enumerate devices again (PortAudio scans once)."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()
