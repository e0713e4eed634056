"""Run two PEP 517 hooks in one process of the build interpreter (used by xv.build.hookpair).

Arguments: pyproject_hooks' in-process script, then the first hook and its control
directory, then the second hook and its control directory. The first hook runs as
pyproject_hooks runs it; when it returns an empty list (``get_requires_for_build_*``
asking for nothing more), the second runs in the same process, with the backend
already imported. A failure of the second is written to ``failed`` in its control
directory (the exit status), so the caller reports it for the second hook.

Runs under whatever Python the build uses: no syntax newer than 3.6 here.
"""

import json
import os
import runpy
import sys
import traceback

_ERRORS = ("unsupported", "no_backend", "backend_invalid", "hook_missing")


def main() -> None:
    script, first, first_dir, second, second_dir = sys.argv[1:6]
    space = runpy.run_path(script, run_name="_xv_in_process")
    sys.argv = [script, first, first_dir]
    space["main"]()
    with open(os.path.join(first_dir, "output.json")) as handle:
        result = json.load(handle)
    if result.get("return_val") != [] or any(result.get(key) for key in _ERRORS):
        return
    sys.argv = [script, second, second_dir]
    status = 0
    try:
        space["main"]()
    except SystemExit as exc:  # as the interpreter would end: a message is printed, status 1
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stdout.flush()
            print(exc.code, file=sys.stderr)
    except BaseException:  # what the process would have died of: the backend's error
        traceback.print_exc()
        status = 1
    if status:
        with open(os.path.join(second_dir, "failed"), "w") as handle:
            handle.write(str(status))


if __name__ == "__main__":
    main()
