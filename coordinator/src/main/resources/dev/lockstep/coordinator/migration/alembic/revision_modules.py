# Reads Alembic revision modules with Python's own parser (ast), never running them, and prints what Lockstep needs
# to know of each. Input on stdin: a JSON object, file name -> source. Output on stdout: a JSON object, file name ->
#   {"autocommit": true if the module calls autocommit_block(...) anywhere (op.get_context().autocommit_block()),
#    "phase": the string a top-level `lockstep_phase = "..."` assigns, or null,
#    "phaseError": why a top-level lockstep_phase is not a plain string, or null,
#    "syntaxError": "line N: message" when the module does not parse (Alembic then refuses it too), or null}
# Comments and strings are not code to ast, so a mention of autocommit_block in either does not count.
import ast
import json
import sys


def facts(source):
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return {"autocommit": False, "phase": None, "phaseError": None, "syntaxError": "line %s: %s" % (e.lineno, e.msg)}
    autocommit = any(
        isinstance(node, ast.Call)
        and ((isinstance(node.func, ast.Attribute) and node.func.attr == "autocommit_block")
             or (isinstance(node.func, ast.Name) and node.func.id == "autocommit_block"))
        for node in ast.walk(tree))
    phase, phase_error = None, None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "lockstep_phase" for t in targets):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                phase, phase_error = value.value, None
            else:
                phase, phase_error = None, "line %d: lockstep_phase must be a string literal" % node.lineno
    return {"autocommit": autocommit, "phase": phase, "phaseError": phase_error, "syntaxError": None}


def main():
    sources = json.load(sys.stdin)
    json.dump({name: facts(text) for name, text in sources.items()}, sys.stdout)

# No call here: the coordinator appends "main()" when it runs this alone, and puts it before alembic_driver.py, which
# calls facts() itself, when the driver reads a set (one process for both).
