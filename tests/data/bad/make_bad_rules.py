"""Writes the hostile rule files in this folder (rules_*.tx, rules_*.yaml).

Each must give one clear error (exit 2) from `taxon eval` and `taxon lint`, never a crash or a
hang: nesting past the parser's limit, regexes RE2 refuses or that would blow up a backtracking
engine, literals past any range, bytes that are not UTF-8. Run from this folder with any Python 3:
    python3 make_bad_rules.py
"""
import pathlib

HERE = pathlib.Path(__file__).parent


def write(name, text):
    (HERE / name).write_bytes(text if isinstance(text, bytes) else text.encode())


depth = 5000
write("rules_deep_parens.tx", "select s : " + "(" * depth + "true" + ")" * depth + "\n")
write("rules_deep_not.tx", "select s : " + "not " * depth + "true\n")
write("rules_deep_expression.tx", "group g : true { lr_mult = " + "(" * depth + "1" + ")" * depth + " }\n")
# Catastrophic for a backtracking engine; RE2 is linear, so this one must simply work.
write("rules_regex_backtracking.tx", 'select s : name ~ /^(a+)+$/ and name ~ /(x+x+)+y/\n' +
      'select t : name ~ /' + "(a|aa)*" * 30 + 'b/\n' + 'select u : nope\n')
write("rules_regex_too_big.tx", "select s : name ~ /((a{1000}){1000}){1000}/\n")
write("rules_regex_repeat.tx", "select s : name ~ /a{5000}/\n")
write("rules_regex_invalid_utf8.tx", b"select s : name ~ /\xff+/\n")
write("rules_huge_float.tx", "group g : true { lr = 1e999999 }\n")
write("rules_huge_integer.tx", "select s : rank == 99999999999999999999999999\n")
write("rules_huge_shape.tx", "select s : shape == [99999999999999999999, 3]\n")
write("rules_non_utf8_string.tx", b'select s : name == "caf\xe9"\n')
write("rules_non_utf8_comment.tx", b"# \xff\xfe comment\nselect s : true\n")
write("rules_nul_byte.tx", b"select s : name == \"a\x00b\"\n")
write("rules_power_chain.tx", "group g : true { lr = " + "2 ** " * 20000 + "2 }\n")  # once overflowed the stack
write("rules_binding_bomb.tx", 'let a0 = name == "x" or name == "y"\n' +
      "".join(f"let a{i} = a{i - 1} or a{i - 1}\n" for i in range(1, 40)) + "select s : a39\n")
write("rules_long_line.tx", "select s : name == \"" + "a" * 200_000 + "\" and\n")

filters = "{TYPE: name, MATCH_TYPE: contains, PATTERNS: [x]}"
for _ in range(3000):
    filters = "{TYPE: not, FILTER: " + filters + "}"
write("rules_deep_filters.yaml", "OPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: " + filters + "\n")
write("rules_yaml_deep_flow.yaml", "a: " + "[" * 20000 + "]" * 20000 + "\n")
write("rules_regex_too_big.yaml",
      "OPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: {TYPE: name, MATCH_TYPE: regex, PATTERNS: ['((a{1000}){1000}){1000}']}\n")
write("rules_huge_float.yaml",
      "OPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: {TYPE: name, MATCH_TYPE: contains, PATTERNS: [x]}\n"
      "      LR_MULTIPLIER: 1e999999\n")
write("rules_non_utf8.yaml", b"OPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: {TYPE: name, MATCH_TYPE: contains, PATTERNS: [caf\xe9]}\n")
# Aliases that repeat each other: 9 ** 12 filters once followed, unless the reader stops counting.
bomb = ["f0: &f0 {TYPE: name, MATCH_TYPE: contains, PATTERNS: [x]}"]
for i in range(1, 13):
    bomb.append(f"f{i}: &f{i} {{TYPE: and, FILTERS: [" + ", ".join([f"*f{i - 1}"] * 9) + "]}")
write("rules_yaml_alias_bomb.yaml", "\n".join(bomb) + "\nOPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: *f12\n")
# An alias inside the node it names: a filter tree of infinite depth (once overflowed the stack).
write("rules_yaml_self_alias.yaml", "f: &f {TYPE: not, FILTER: *f}\nOPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: *f\n")
