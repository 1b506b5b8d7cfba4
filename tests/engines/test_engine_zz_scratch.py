import subprocess, sys
import pytest
from tests.engines.conftest import ENGINE_NAMES

@pytest.mark.parametrize("name", ["rootful_podman", "docker_engine"])
def test_scratch(name, request):
    eng = request.getfixturevalue(name)
    r = subprocess.run([sys.executable, "/tmp/exp/exp1.py", eng.url], capture_output=True, text=True)
    print(r.stdout, r.stderr)
    assert 0
