"""The question bank: verbatim seed content, validation errors, custom banks."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_interview.content.banks import QuestionKind, default_bank_path, load_bank
from voice_interview.errors import BankError

SEED = Path(__file__).parent / "data" / "seed" / "amazon-backend-developer-interview.txt"


def _seed_lines() -> list[str]:
    text = SEED.read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_bundled_bank_has_the_seed_rounds_and_questions_verbatim() -> None:
    bank = load_bank()
    seed = _seed_lines()
    assert [r.kind for r in bank.rounds] == [
        QuestionKind.TECHNICAL,
        QuestionKind.SYSTEM_DESIGN,
        QuestionKind.BEHAVIORAL,
    ]
    assert len(bank.questions) == 9
    for rnd in bank.rounds:
        assert rnd.title in seed
        assert rnd.purpose in seed
        # the questions follow their round's purpose line in the seed, in order
        start = seed.index(rnd.purpose) + 1
        assert [q.text for q in rnd.questions] == seed[start : start + len(rnd.questions)]
    assert bank.notice in seed
    assert bank.question("ownership").principles == ("Ownership",)
    assert bank.question("connection-pooling").kind is QuestionKind.SYSTEM_DESIGN
    assert bank.question("connection-pooling").round_id == "system-design"


def test_unknown_question_lists_the_valid_ids() -> None:
    with pytest.raises(BankError) as err:
        load_bank().question("caching")
    message = str(err.value)
    assert "'caching'" in message and "caching-strategies" in message and "\n" not in message


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bank.toml"
    path.write_text(body)
    return path


_MINIMAL = """
schema_version = 1
id = "acme"
company = "Acme"
role = "Engineer"
title = "Practice"
[[rounds]]
id = "one"
title = "Round one"
kind = "technical"
purpose = "Basics."
[[rounds.questions]]
id = "q1"
text = "What is a queue?"
"""


def test_custom_bank_loads(tmp_path: Path) -> None:
    bank = load_bank(_write(tmp_path, _MINIMAL))
    assert [q.id for q in bank.questions] == ["q1"]
    assert bank.source.endswith("bank.toml")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            _MINIMAL.replace('text = "What is a queue?"', ""),
            "rounds.0.questions.0.text: Field required",
        ),
        (_MINIMAL.replace('kind = "technical"', 'kind = "trivia"'), "rounds.0.kind"),
        (_MINIMAL.replace('id = "q1"', 'id = "Q 1"'), "rounds.0.questions.0.id"),
        (
            _MINIMAL + '[[rounds.questions]]\nid = "q1"\ntext = "Again?"\n',
            "duplicate question id(s): q1",
        ),
        (_MINIMAL.replace("schema_version = 1", "schema_version = 7"), "schema_version"),
        (_MINIMAL + "colour = 'blue'\n", "colour: Extra inputs are not permitted"),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_broken_bank_names_file_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(BankError) as err:
        load_bank(path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_missing_bank_file(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="bank file not found"):
        load_bank(tmp_path / "nope.toml")


def test_misconceptions_take_a_string_or_a_table_with_signals(tmp_path: Path) -> None:
    bank = load_bank()
    concepts = [c for q in bank.questions for c in q.concepts]
    plain = [m for c in concepts for m in c.misconceptions if not m.signals]
    signalled = [m for c in concepts for m in c.misconceptions if m.signals]
    assert plain and signalled  # the bundled bank uses both forms
    assert all(m.statement for m in plain + signalled)


def test_focus_is_only_for_behavioral_questions(tmp_path: Path) -> None:
    text = default_bank_path().read_text()
    marker = 'id = "sync-vs-async"\n'
    broken = text.replace(
        marker,
        marker + 'focus = [{ id = "x", label = "X", aliases = ["x"], paraphrases = ["X."] }]\n',
        1,
    )
    path = tmp_path / "bank.toml"
    path.write_text(broken)
    with pytest.raises(BankError, match="focus is for behavioral questions only"):
        load_bank(path)


def test_a_broken_bank_names_the_line_of_the_bad_value(tmp_path: Path) -> None:
    # the bundled bank with one concept weight broken, deep inside the second round
    text = default_bank_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    target = next(i for i, line in enumerate(lines) if i > 700 and line.startswith("weight = "))
    lines[target] = "weight = -2.0"
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(BankError) as err:
        load_bank(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{target + 1}: rounds.1.questions.") and "weight" in message
    # a multi-line string holding "key = value" text does not confuse the line scanner
    from voice_interview.content.tomlfile import toml_line

    doc = 'a = """\nb = 1\n"""\n[[t]]\nb = 2\n[[t]]\nb = 3\n'
    assert toml_line(doc, ("t", 1, "b")) == 7 and toml_line(doc, ("a",)) == 1
    assert toml_line(doc, ("t", 0, "nothing")) == 4  # the nearest enclosing table
