"""Read agreements/ and validate it as a whole; the first problem stops start-up."""

from collections import Counter
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.content.schema import (
    Clause,
    Group,
    IntParam,
    Library,
    PatternCheck,
    PromptFile,
    Starter,
    TextParam,
)


class ContentError(Exception):
    """A content file is wrong; the message names the file and the field."""


def _read(path: Path, root: Path):
    name = path.relative_to(root.parent)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(f"{name}: file is missing") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ContentError(f"{name}: not valid YAML: {error}") from None


def _parse(model, path: Path, root: Path):
    data = _read(path, root)
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return TypeAdapter(model).validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ContentError(f"{path.relative_to(root.parent)}: {field}: {first['msg']}") from None


def _no_duplicates(what: str, ids, where: str) -> None:
    repeated = [item for item, count in Counter(ids).items() if count > 1]
    if repeated:
        raise ContentError(f"{where}: duplicate {what} id {repeated[0]!r}")


def _check_starter_params(starter: Starter, library_clauses: dict, where: str) -> None:
    for index, item in enumerate(starter.clauses):
        field = f"{where}: clauses.{index}"
        clause = library_clauses.get(item.clause)
        if clause is None:
            raise ContentError(f"{field}.clause: unknown clause {item.clause!r}")
        for name, value in item.params.items():
            if name not in {param.name for param in clause.params}:
                raise ContentError(f"{field}.params.{name}: {item.clause} has no such param")
            param = clause.param(name)
            if isinstance(param, IntParam):
                valid = isinstance(value, int) and param.min <= value <= param.max
            elif isinstance(param, TextParam):
                valid = isinstance(value, str) and 0 < len(value) <= param.max_length
            else:
                valid = value in {choice.id for choice in param.choices}
            if not valid:
                raise ContentError(f"{field}.params.{name}: {value!r} is not allowed here")


@cache
def load_library(root: Path) -> Library:
    """Load and check everything under `root` (the agreements/ folder)."""
    root = Path(root)
    prompts_path = root / "prompts.yaml"
    groups = _parse(tuple[Group, ...], root / "groups.yaml", root)
    prompt_file = _parse(PromptFile, prompts_path, root)
    pattern_check = _parse(PatternCheck, root / "pattern_check.yaml", root)

    clauses = {}
    for path in sorted((root / "clauses").glob("*.yaml")):
        clause = _parse(Clause, path, root)
        where = path.relative_to(root.parent)
        # One file per clause, named by its id: so no two clauses can share an id.
        if clause.id != path.stem:
            raise ContentError(f"{where}: id: {clause.id!r} must match the file name")
        if clause.group not in {group.id for group in groups}:
            raise ContentError(f"{where}: group: unknown group {clause.group!r}")
        clauses[clause.id] = clause
    if not clauses:
        raise ContentError(f"{(root / 'clauses').relative_to(root.parent)}: no clause files")

    starters = []
    for path in sorted((root / "starters").glob("*.yaml")):
        starter = _parse(Starter, path, root)
        _check_starter_params(starter, clauses, str(path.relative_to(root.parent)))
        starters.append(starter)
    _no_duplicates("starter", [starter.id for starter in starters], "agreements/starters")

    where = str(prompts_path.relative_to(root.parent))
    _no_duplicates("theme", [theme.id for theme in prompt_file.themes], where)
    _no_duplicates("prompt", [prompt.id for prompt in prompt_file.prompts], where)
    themes = {theme.id for theme in prompt_file.themes}
    for index, prompt in enumerate(prompt_file.prompts):
        if prompt.theme not in themes:
            raise ContentError(f"{where}: prompts.{index}.theme: unknown theme {prompt.theme!r}")
        for suggestion in prompt.suggests:
            if suggestion not in clauses:
                raise ContentError(
                    f"{where}: prompts.{index}.suggests: unknown clause {suggestion!r}"
                )
    _no_duplicates(
        "statement",
        [statement.id for statement in pattern_check.statements],
        "agreements/pattern_check.yaml",
    )

    return Library(
        groups=groups,
        themes=prompt_file.themes,
        prompts=prompt_file.prompts,
        clauses=tuple(clauses.values()),
        starters=tuple(starters),
        pattern_check=pattern_check,
    )
