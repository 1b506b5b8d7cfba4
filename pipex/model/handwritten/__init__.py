"""Parsers pipex writes by hand because a spec clause asks for meanings no library on PyPI gives.

Each module names the clause it implements and the measured reason it is not a library (figures taken on
this project's 2-core build machine, Python 3.11, December 2026; the script is ``bench/compare_libraries.py``):

* ``yaml12``, ``yaml_plain``, ``yaml_scalars``: YAML 1.2 core-schema loading (pipeline-format.md "Files").
  PyYAML is YAML 1.1; ruamel.yaml reads 1.2 but is 34x slower on a 10,000-step file.
* ``condition`` and ``condition_ast``/``condition_parse``/``condition_eval``/``condition_js``: the
  JEXL-compatible ``if`` language (pipeline-format.md "Conditions (`if`)"). pyjexl evaluates with Python's
  rules, not JavaScript's.
* ``dotenv``: dotenv files (pipeline-format.md "Environment", cli.md's ``.env`` paragraph). python-dotenv
  expands ``${VAR}``, unescapes more than ``\\n``/``\\r`` and skips malformed lines silently.

Bodies here are spec-driven: change them with the spec clause open, and keep the tests beside them
(``tests/unit/model/test_yaml12.py``, ``test_yaml_corpus.py``, ``test_condition.py``, ``test_dotenv.py``) green.
"""
