"""The development tooling keeps its promises (issue 19): `make install` installs exactly the
versions in constraints.txt, and `make test-fast` leaves out browser and fault tests by file
name, so a new file of either kind is left out without anyone remembering a decorator."""

import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import _file_marks, _test_marks

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
