# Lockstep's Alembic driver: runs the steps of one release phase in ONE Python process, through Alembic's own
# command API (alembic.command.upgrade / downgrade / stamp), instead of one `alembic` process per step.
#
#   python3 -c "$(cat revision_modules.py alembic_driver.py)" INI NONCE steps|inspect script|module
#
# `inspect` answers what the coordinator asks once per migration set, in this one process instead of three
# (`alembic history --verbose`, `alembic current`, revision_modules.py): the revision graph as `history --verbose`
# prints it, what each revision module says of itself (facts() of revision_modules.py, prepended by the coordinator),
# and, running env.py as `alembic current` does, the revisions the database is at and the version table env.py
# names; then it exits:
#   {"event": "inspected", "history": "Rev: ...", "modules": {"a1_x.py": {...}}}
#   {"event": "current", "heads": ["a1"]}     (after "configured")
#
# `steps`:
# The coordinator sends one command per line on stdin and waits for its result before it sends the next, so
# everything it does between steps (the fence check, storing the step as committed, a stop request, a retry after a
# lock timeout) still happens between steps:
#   {"command": "upgrade", "revision": "a1b2"}    {"command": "downgrade", "revision": "c3d4@-1"}
#   {"command": "stamp", "revisions": ["a1b2", "e5f6"]}
# End of input ends the process. Each command is one Alembic run, exactly as `alembic -c INI <command>` would do it:
# env.py is run again for it (its own connection and transaction), so a failure rolls back what Alembic's
# transaction held, and what earlier commands committed stays.
#
# Protocol lines to the coordinator are `\n@@lockstep-driver NONCE {json}` on stdout; every other line (Alembic's
# logging, a revision's print(), a traceback) is text. The leading newline ends a line a revision left open, and the
# nonce (random per process) keeps a line a revision prints from passing for one. Events:
#   {"event": "ready"}                                   Alembic imported, the project's config (and, for `steps`,
#                                                        its revisions) read
#   {"event": "unavailable", "error": "..."}             this Python cannot import alembic (exit 3)
#   {"event": "configured", "versionTable": "alembic_version", "versionTableSchema": null}   env.py configured Alembic
#   {"event": "revision", "id": "b2", "text": "upgrade a1 -> b2, add orders"}   a revision starts
#   {"event": "end", "ok": true}                         the command's transaction(s) committed
#   {"event": "end", "ok": false, "error": "...", "revision": "b2" or null}      it failed; traceback printed above
# stdin is taken from Python at start (fd 0 then reads /dev/null), so a revision that reads stdin cannot eat commands.
import json
import os
import sys
import traceback

INI, NONCE, MODE, LAUNCH = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

if sys.path and sys.path[0] in ("", "."):
    # `python -c` puts the working folder first, as `python -m alembic` does (LAUNCH "module": env.py may import the
    # application from there); the `alembic` script does not (LAUNCH "script"), and there a script folder named
    # "alembic" in the working folder must not shadow the alembic package.
    if LAUNCH == "module":
        sys.path[0] = os.getcwd()
    else:
        del sys.path[0]
_out = sys.stdout


def emit(event, **fields):
    fields["event"] = event
    _out.write("\n@@lockstep-driver %s %s\n" % (NONCE, json.dumps(fields)))
    _out.flush()


_commands = os.fdopen(os.dup(0), "r", encoding="utf-8")
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)

try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime import migration
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory
except Exception as e:  # ImportError, or an alembic that does not load
    emit("unavailable", error="%s: %s" % (type(e).__name__, e))
    sys.exit(3)

# Which revision runs: Alembic logs "Running <step>" just before it calls a revision's upgrade()/downgrade(). The
# logger object is replaced rather than given a handler, because env.py's fileConfig() clears handlers of loggers.
_running = [None]


class _StepLog(object):
    def __init__(self, real):
        self._real = real

    def info(self, msg, *args, **kwargs):
        if msg == "Running %s" and args and hasattr(args[0], "revision"):
            step = args[0]
            _running[0] = step.revision.revision
            emit("revision", id=step.revision.revision, text=str(step))
        return self._real.info(msg, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


migration.log = _StepLog(migration.log)

# Which version table env.py configures: the coordinator reads alembic_version with SQL, which is right only for the
# default table, so it is told when env.py names another.
_configure = EnvironmentContext.configure


def _configure_reporting(self, *args, **kwargs):
    emit("configured", versionTable=kwargs.get("version_table") or "alembic_version",
         versionTableSchema=kwargs.get("version_table_schema"))
    return _configure(self, *args, **kwargs)


EnvironmentContext.configure = _configure_reporting

config = Config(INI)

# Every command of this process reads the same versions folder: read the revision modules once, not per step.
_scripts = {}
_from_config = ScriptDirectory.from_config.__func__


def _cached_from_config(cls, cfg):
    if cfg is not config:
        return _from_config(cls, cfg)
    if "script" not in _scripts:
        _scripts["script"] = _from_config(cls, cfg)
    return _scripts["script"]


ScriptDirectory.from_config = classmethod(_cached_from_config)

if MODE == "steps":
    # The revisions are read before "ready": a driver started ahead (AlembicRunner.starting) reads them while the
    # coordinator does something else. A revision that does not load is not cached, and fails again, with its
    # traceback, in the command that needs it.
    try:
        ScriptDirectory.from_config(config).get_heads()
    except Exception:
        _scripts.pop("script", None)

emit("ready")


def inspect():
    script = ScriptDirectory.from_config(config)
    history = "\n".join(sc.log_entry for sc in script.walk_revisions("base", "heads"))
    modules = {}
    for folder, dirs, files in os.walk(script.versions):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    modules[os.path.relpath(path, script.versions).replace(os.sep, "/")] = facts(f.read())
    emit("inspected", history=history, modules=modules)

    def current(heads, context):
        emit("current", heads=list(heads))
        return []

    with EnvironmentContext(config, script, fn=current, dont_mutate=True):
        script.run_env()


if MODE == "inspect":
    try:
        inspect()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(1)
    sys.exit(0)

for line in _commands:
    if not line.strip():
        continue
    _running[0] = None
    try:
        request = json.loads(line)
        name = request["command"]
        if name == "upgrade":
            command.upgrade(config, request["revision"])
        elif name == "downgrade":
            command.downgrade(config, request["revision"])
        elif name == "stamp":
            command.stamp(config, request["revisions"])
        else:
            raise ValueError("unknown driver command %r" % name)
    except BaseException as e:  # SystemExit from env.py too: report it, keep serving
        if isinstance(e, KeyboardInterrupt):
            raise
        if e.__class__.__name__ == "CommandError":
            sys.stderr.write("FAILED: %s\n" % e)  # as the alembic command prints it
        else:
            traceback.print_exc()
        sys.stderr.flush()
        emit("end", ok=False, error="%s: %s" % (type(e).__module__ + "." + type(e).__name__, e), revision=_running[0])
        continue
    sys.stderr.flush()
    emit("end", ok=True)
