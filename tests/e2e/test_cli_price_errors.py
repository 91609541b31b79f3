"""``riskdesk price`` bad input: every bad field named as the user typed it, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bad_as_of_is_a_named_error_not_a_traceback() -> None:
    code, _, err = run("price", "--type", "call", "-S", "100", "-K", "105", "--expiry",
                       "2030-01-01", "--as-of", "garbage", "--sigma", "0.3")  # fmt: skip
    assert code == 2
    assert "--as-of: not an ISO 8601 date/time: 'garbage'" in err
    assert "Traceback" not in err


def test_black76_rejects_a_yield() -> None:
    code, _, err = run("price", "--type", "call", "--model", "black76", "-F", "100", "-K",
                       "105", "-T", "1", "-q", "0.05", "--sigma", "0.3")  # fmt: skip
    assert code == 2
    assert "-q/--yield: not an input of Black-76" in err
    code, _, err = run("price", "--type", "call", "--model", "black76", "-F", "100", "-K",
                       "105", "-T", "1", "--sigma", "0.3", "--json")  # fmt: skip
    assert code == 0, err


def test_implying_at_expiry_explains_why_there_is_no_vol() -> None:
    code, out, err = run("price", "--type", "call", "-S", "100", "-K", "105", "-T", "0",
                         "--price", "10", "--json")  # fmt: skip
    assert code == 0, err
    (quote,) = json.loads(out)
    assert quote["iv_status"] == "INVALID_INPUT"
    assert "at expiry (T = 0)" in quote["iv_reason"] and "no volatility" in quote["iv_reason"]
    code, out, _ = run("price", "--type", "put", "-S", "100", "-K", "105", "-T", "0.5",
                       "--price", "1")  # fmt: skip
    assert code == 0 and "below the option's intrinsic" in out


def test_every_bad_field_of_a_row_is_reported_with_the_typed_names() -> None:
    code, _, err = run("price", "--type", "call", "-S", "100", "-K", "-5", "-T", "-1",
                       "--sigma", "0.2", "-r", "nan")  # fmt: skip
    assert code == 2
    assert "-K/--strike: must be positive, got -5" in err
    assert "-T/--years: must not be negative" in err
    assert "-r/--rate: must be finite" in err
    assert "R:" not in err


def test_json_errors_are_a_structured_list(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("type,S,K,T,sigma,Rate\ncall,100,-1,-2,0.2,x\nput,100,100,1,0.2,0.01\n")
    code, _, err = run("price", "--file", str(bad), "--json")
    assert code == 2
    errors = json.loads(err)["error"]["errors"]
    assert errors == [
        {"line": 2, "field": "K", "reason": "must be positive, got -1"},
        {"line": 2, "field": "T", "reason": "must not be negative (years to expiry), got -2"},
        {"line": 2, "field": "Rate", "reason": "not a number: 'x'"},
    ]


def test_semicolon_csv_is_read(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("type;S;K;T;sigma\ncall;100;100;1;0.2\n")
    code, out, err = run("price", "--file", str(semi), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["price"] > 0


def test_unrecognised_header_names_the_columns_found(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("foo|bar\n1|2\n")
    code, _, err = run("price", "--file", str(odd))
    assert code == 2 and "found 'foo', 'bar'" in err


def test_empty_file_and_header_only_are_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out, err = run("price", "--file", str(empty))
    assert code == 2 and "is empty" in err and out == ""
    header = tmp_path / "header.csv"
    header.write_text("type,S,K,T,sigma\n")
    code, _, err = run("price", "--file", str(header))
    assert code == 2 and "no options to price" in err
    empty_json = tmp_path / "empty.json"
    empty_json.write_text("[]")
    code, _, err = run("price", "--file", str(empty_json))
    assert code == 2 and "no options to price" in err
