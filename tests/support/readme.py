"""The harness of the README walkthrough tests (tests/integration/test_readme_*.py).

A README section's ```sh blocks are pointed at the test's server and run as a reader types them:
in one bash session, so variables (`GROUP=…`, tokens) carry over and each write runs once; the
output of each command is checked against the `# …` line that follows it in the README.

The primitives (finding a section, its blocks and their expected answers, matching, running bash)
are tests/integration/test_readme.py's, the forum walkthrough's own test; they can move here when
that file is next changed.
"""

from __future__ import annotations

from tests.integration.test_readme import commands_with_expectations, matches, run_shell, section, sh_blocks

README_ADDRESS = "127.0.0.1:8000"
MARK = "@@readme-step@@"


def section_blocks(title: str, port: int) -> list[str]:
    """The ```sh blocks of the README section `title`, talking to the server on `port`."""
    return [block.replace(README_ADDRESS, f"127.0.0.1:{port}") for block in sh_blocks(section(title))]


def run_walkthrough(blocks: list[str], env: dict[str, str], timeout: float = 60) -> int:
    """Run every command of `blocks` in one bash session, stopping at the first that fails; assert
    each documented answer; return how many answers were checked."""
    steps = [step for block in blocks for step in commands_with_expectations(block)]
    # A mark before each command splits the output; the `echo` after it ends a last line without one.
    script = "set -e\n" + "".join(f"echo {MARK}\n{command}\necho\n" for command, _ in steps)
    outputs = run_shell(script, env, timeout=timeout).split(f"{MARK}\n")[1:]
    assert len(outputs) == len(steps), f"{len(steps)} commands, {len(outputs)} outputs"
    checked = 0
    for (command, expected), output in zip(steps, outputs, strict=True):
        if expected is not None:
            assert matches(expected, output.strip()), f"{command}\nexpected: {expected}\ngot: {output.strip()}"
            checked += 1
    return checked
