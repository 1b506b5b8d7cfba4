"""Help as podman and the original print it: ``pipex exec [OPTIONS] WS``, flags without a type.

typer ≥ 0.26 writes a required argument as ``{WS}`` in usage lines and shows ``<bool>`` next to every flag and
``<str>`` next to every argument in the help tables; older typer (Debian's) writes ``WS`` and shows nothing.
``tidy`` gives a command tree the older look, whatever typer is installed: each command and parameter gets a
subclass of its own class overriding only those renderings (a subclass with no new slots, so the object's
class can be swapped in place).
"""

from __future__ import annotations

from typing import Any

_TIDIED: dict[type, type] = {}
# typer's type labels → the words click's own help uses for them.
_TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "bool": "BOOLEAN"}


def tidy(command: Any) -> None:
    """Tidy ``command`` and every subcommand it has (click/typer objects)."""
    _swap(command, _command_class)
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)


def _swap(obj: Any, make: Any) -> None:
    cls = type(obj)
    if cls in _TIDIED.values():
        return
    if cls not in _TIDIED:
        _TIDIED[cls] = make(cls)
    obj.__class__ = _TIDIED[cls]


def _command_class(cls: type) -> type:
    def get_params(self: Any, ctx: Any) -> list[Any]:
        params: list[Any] = cls.get_params(self, ctx)  # type: ignore[attr-defined]
        for param in params:  # --help is made on demand: tidy what is listed, when it is listed
            _swap(param, _param_class)
        return params

    return type(f"Tidy{cls.__name__}", (cls,), {"__slots__": (), "get_params": get_params})


def _param_class(cls: type) -> type:
    def usage_name(self: Any) -> str:
        shown = getattr(self, "metavar", None) or getattr(self, "display_name_raw", None) or getattr(self, "name", "")
        name = str(shown or "").upper()
        if getattr(self, "nargs", 1) != 1 and not name.endswith("..."):
            name += "..."
        return name if getattr(self, "required", False) else f"[{name}]"

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "param_type_name", "") == "argument" or getattr(self, "is_flag", False):
            return None  # an argument's name says it all; a flag takes no value
        original = getattr(cls, "display_type_rich", None)
        label = original(self, ctx) if original is not None else None
        if isinstance(label, str) and label.startswith("<") and label.endswith(">"):
            inner = label[1:-1]  # typer's type label: a choice reads auto|podman|docker, a type as click names it
            return _TYPE_WORDS.get(inner, inner)
        return label

    namespace: dict[str, Any] = {"__slots__": ()}
    if hasattr(cls, "_usage_display_name"):
        namespace["_usage_display_name"] = usage_name
    if hasattr(cls, "display_type_rich"):
        namespace["display_type_rich"] = display_type_rich
    return type(f"Tidy{cls.__name__}", (cls,), namespace)
