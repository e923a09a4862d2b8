"""The examples run against the server, and the package installs with its generated stubs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parent.parent
EXAMPLES = CLIENT_DIR / "examples"


def _run(args, pythonpath, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    done = subprocess.run(
        [sys.executable, *map(str, args)],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout, done.stderr


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("summarize_holdings.py", ["--currency", "USD", "--as-of", "2025-03-18",
                                   "--filter", "owner_kind = CENTRAL_BANK"],
         ["in USD", "BE", "USD 280.0 bn", "not added"]),
        ("legal_risk.py", ["--jurisdictions", "BE", "--as-of", "2025-12-31"],
         ["confiscation: overall risk", "windfall_profits: overall risk", "BE:"]),
        ("safe_eligibility.py", ["--as-of", "2025-12-01", "--share", "50", "GB"],
         ["GB: NOT_ELIGIBLE"]),
        ("score_and_sweep.py", ["--steps", "200"],
         ["plugins/pressure-index", "plugins/prudent-pressure", "highest score"]),
    ],
)
def test_example_runs(server, script, args, expected):
    out, err = _run([EXAMPLES / script, "--target", server.target, *args], CLIENT_DIR / "src")
    for text in expected:
        assert text in out, f"{text!r} not in the output of {script}:\n{out}"
    if script == "score_and_sweep.py":
        assert "200/200" in err, "the progress bar reaches the end"


def test_the_example_sweeps_an_input_of_a_plugins_own_with_a_parameter(server, escrow_plugin):
    args = ["--plugin", "fixture-escrow", "--input", "escrow.share=0.4", "--param", "weight=0.3",
            "--lever", "escrow.enforcement", "--steps", "50"]
    out, err = _run([EXAMPLES / "score_and_sweep.py", "--target", server.target, *args],
                    CLIENT_DIR / "src")
    assert "plugins/fixture-escrow 1.0.0: " in out and "not scored" not in out, out
    assert f"(build {escrow_plugin.build}, parameters weight = 0.3, yield_pct = 3)" in out, out
    assert "50/50" in err
    # Without the input it requires, the plugin says which, and the sweep of another plugin
    # goes on.
    out, _ = _run([EXAMPLES / "score_and_sweep.py", "--target", server.target, "--steps", "20"],
                  CLIENT_DIR / "src")
    assert ("plugins/fixture-escrow 1.0.0: not scored: `escrow.share` (fraction 0..1, 0 to 1) "
            "is required by plugins/fixture-escrow and not set") in out, out


def test_pip_install_generates_the_stubs(server, tmp_path):
    """`pip install ./clients/python` runs generate.py through setup.py: the installed package
    carries stubs and works on its own (no src/ on the path)."""
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(CLIENT_DIR)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "leverage_client" / "v1" / "scoring_pb2_grpc.py").is_file()
    # pandas is an extra, not a dependency: `pip install 'leverage-client[pandas]'`.
    (metadata,) = target.glob("leverage_client-*.dist-info/METADATA")
    lines = metadata.read_text().splitlines()
    assert "Provides-Extra: pandas" in lines
    assert [l for l in lines if l.startswith("Requires-Dist: pandas")] == [
        'Requires-Dist: pandas>=2.0; extra == "pandas"'
    ]
    code = (
        "import leverage_client, sys\n"
        "assert leverage_client.__file__.startswith(sys.argv[1]), leverage_client.__file__\n"
        "c = leverage_client.Client(sys.argv[2])\n"
        "print(c.dataset_info().version)\n"
    )
    out, _ = _run(["-c", code, target, server.target], target)
    assert out.strip()
