"""The README's promise: no command ever shows a traceback (issue 13, case 7).

The walk goes over every command in :data:`analytics.cli.COMMANDS` (every subcommand of a
group), reads its parameters from Click, and runs it once per hostile value of each
parameter (huge and negative numbers, NaN and infinity, a folder, a device and a text file
for paths, markup and formula text, year 0 dates), with working values for the rest. Each run
must end with status 0 or 2 (2: one ``error:`` sentence on stderr), never 1 or a traceback.
``app`` only has its validated options walked: a valid run replaces the process with Streamlit;
``jobs serve`` (a scheduler that runs until stopped) only its help.
"""

from __future__ import annotations

import shutil

import pytest

from analytics.cli import COMMANDS, LazyCommands, main

INT_VALUES = ("-1", "99999999999999999999")
FLOAT_VALUES = ("nan", "-inf", "1e308")
TEXT_VALUES = ("[/b][link=http://x]=1+1", "0000-01-01")


@pytest.fixture(scope="module")
def walk_env(tmp_path_factory, demo_db):
    root = tmp_path_factory.mktemp("walk")
    writable = root / "w.duckdb"
    shutil.copy(demo_db, writable)
    (root / "folder").mkdir()
    (root / "notes.txt").write_text("just some notes\n")
    (root / "contacts.csv").write_text("email,firstname,lastname\nana@example.com,Ana,[/b]\n")
    (root / "task.csv").write_text("hubspot_id\n123\n")
    return root, writable


BASE = {
    "demo": ["--touchpoints", "2000"],  # --db added per run (a fresh path)
    "import": ["hubspot-contacts", "{root}/contacts.csv", "--db", "{writable}"],
    "refresh": ["--db", "{writable}"],
    "attribution": ["--model", "linear", "--db", "{db}"],
    "roi": ["--db", "{db}", "--period", "2026-Q3", "--n-boot", "0"],
    "budget": ["--db", "{db}"],
    "actions enqueue": ["--kind", "create_task", "--subject", "s", "--from-csv", "{root}/task.csv", "--preview"],
    "actions deliver": ["--once"],
    "actions retry": ["1"],
    "actions cancel": ["1"],
    "sync hubspot": ["--db", "{writable}"],
    "sql show": ["overview.kpis"],
    "jobs run": ["no-such-job"],  # a real job would run for each value; the options are still parsed and checked
    "sql explain": ["overview.kpis", "--db", "{db}"],
}
SKIP_PARAMS = {"app": {"db", "address"}}  # a valid value would start the server (execve)
SERVERS = {"jobs serve"}  # runs until stopped: only its --help is walked (its errors are tested in tests/jobs)


def _commands() -> list[tuple[str, object]]:
    group = LazyCommands(name="analytics")
    found = []
    for name in COMMANDS:
        command = group.get_command(None, name)
        if hasattr(command, "commands"):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
        else:
            found.append((name, command))
    return found


def _is_argument(param) -> bool:
    return param.param_type_name == "argument"


def _values(param, root) -> tuple[str, ...]:
    if getattr(param, "is_flag", False):
        return ()
    kind = str(param.type_descriptor.annotation)
    if "Path" in kind:
        return (str(root / "folder"), "/dev/null", str(root / "missing" / "x.duckdb"), str(root / "notes.txt"))
    if "int" in kind:
        return INT_VALUES
    if "float" in kind:
        return FLOAT_VALUES
    return TEXT_VALUES


def _runs(walk_env, demo_db):
    root, writable = walk_env
    runs = []
    for name, command in _commands():
        base = [part.format(root=root, db=demo_db, writable=writable) for part in BASE.get(name, [])]
        runs.append((name, [*name.split(), "--help"]))
        if name in SERVERS:
            continue
        for param in command.params:
            if param.name in SKIP_PARAMS.get(name, set()) or param.name == "help":
                continue
            for value in _values(param, root):
                if name == "app" and param.name == "port" and value.lstrip("-").isdigit() and 0 < int(value) < 65536:
                    continue
                args = list(base)
                if _is_argument(param):
                    index = [p for p in command.params if _is_argument(p)].index(param)
                    if index < len(args) and not args[index].startswith("--"):
                        args[index] = value  # BASE lists a command's arguments first
                    else:
                        args.insert(index, value)
                else:
                    option = param.opts[0]
                    if option in args:
                        args[args.index(option) + 1] = value
                    else:
                        args += [option, value]
                runs.append((name, [*name.split(), *args]))
    return runs


def test_every_command_ends_in_0_or_2_with_one_sentence(walk_env, demo_db, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("REVLENS_DB", demo_db)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # a demo or import without --db writes data/ here, not in the worktree
    failures, count = [], 0
    for number, (name, args) in enumerate(_runs(walk_env, demo_db)):
        if name == "demo" and "--db" not in args:
            args = [*args, "--db", str(tmp_path / f"demo{number}.duckdb")]
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        count += 1
        code = exit_info.value.code or 0
        out, err = capsys.readouterr()
        if code not in (0, 2) or "Traceback" in err + out:
            failures.append((args, code, err.strip().splitlines()[-1:] if err.strip() else out[-200:]))
        elif code == 2 and not err.strip():
            failures.append((args, code, "no message"))
    assert count > 150
    assert not failures, "\n".join(f"{' '.join(args)} -> {code}: {message}" for args, code, message in failures)


def test_usage_errors_are_typers_own_and_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["roi", "--n-boot", "many"])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_with_status_1(monkeypatch, capsys):
    import analytics.cli.sql as sql_cli

    monkeypatch.setattr(sql_cli, "_registry", lambda: 1 / 0)
    with pytest.raises(SystemExit) as exit_info:
        main(["sql", "list"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "Traceback" not in err
    assert err.startswith("error: unexpected ZeroDivisionError") and len(err.strip().splitlines()) == 1


def test_out_of_memory_says_so_and_suggests_memory_limit(monkeypatch, capsys):
    import duckdb

    import analytics.cli.sql as sql_cli

    def oom():
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")

    monkeypatch.setattr(sql_cli, "_registry", oom)
    with pytest.raises(SystemExit) as exit_info:
        main(["sql", "list"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "out of memory" in err and "--memory-limit" in err
