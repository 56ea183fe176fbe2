"""The shape of every content file, as immutable pydantic models."""

import string
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StringConstraints,
    model_validator,
)

LANGUAGES = ("en", "nl")

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Localized(Frozen):
    en: Text
    nl: Text

    def __call__(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


class LocalizedList(Frozen):
    en: tuple[Text, ...] = Field(min_length=1)
    nl: tuple[Text, ...] = Field(min_length=1)

    def __call__(self, locale: str) -> tuple[str, ...]:
        return self.nl if locale == "nl" else self.en

    @model_validator(mode="after")
    def same_length(self):
        if len(self.en) != len(self.nl):
            raise ValueError("en and nl must have the same number of items")
        return self


class Named(Frozen):
    """Something with an id and a name in each language (a theme, a group)."""

    id: Identifier
    en: Text
    nl: Text

    def name(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


class IntParam(Frozen):
    name: ParamName
    type: Literal["int"]
    label: Localized
    min: int
    max: int
    unit: Localized
    default: int

    @model_validator(mode="after")
    def default_within_bounds(self):
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} is outside {self.min}..{self.max}")
        return self

    def default_value(self, locale: str) -> int:
        return self.default


class Choice(Frozen):
    id: Identifier
    en: Text
    nl: Text

    def label(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


class ChoiceParam(Frozen):
    name: ParamName
    type: Literal["choice"]
    label: Localized
    choices: tuple[Choice, ...] = Field(min_length=2)
    default: Identifier

    @model_validator(mode="after")
    def default_is_a_choice(self):
        ids = [choice.id for choice in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError("choice ids must be unique")
        if self.default not in ids:
            raise ValueError(f"default {self.default!r} is not one of the choices {ids}")
        return self

    def default_value(self, locale: str) -> str:
        return self.default


class TextParam(Frozen):
    name: ParamName
    type: Literal["text"]
    label: Localized
    max_length: int = Field(ge=1, le=500)
    default: Localized

    @model_validator(mode="after")
    def default_fits(self):
        for language in LANGUAGES:
            if len(getattr(self.default, language)) > self.max_length:
                raise ValueError(f"default.{language} is longer than max_length")
        return self

    def default_value(self, locale: str) -> str:
        return self.default(locale)


Param = Annotated[IntParam | ChoiceParam | TextParam, Field(discriminator="type")]


def placeholders(template: str) -> set[str]:
    """The named placeholders in a body; anything but plain `{name}` is an error."""
    names = set()
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain name like {{minutes}}")
        names.add(field)
    return names


class Clause(Frozen):
    id: Identifier
    group: Identifier
    title: Localized
    body: Localized
    why: Localized
    params: tuple[Param, ...] = ()

    @model_validator(mode="after")
    def placeholders_match_params(self):
        names = [param.name for param in self.params]
        if len(set(names)) != len(names):
            raise ValueError("param names must be unique")
        for language in LANGUAGES:
            used = placeholders(getattr(self.body, language))
            if missing := used - set(names):
                raise ValueError(f"body.{language} uses {sorted(missing)} with no param")
            if unused := set(names) - used:
                raise ValueError(f"body.{language} has no placeholder for {sorted(unused)}")
        return self

    def param(self, name: str) -> IntParam | ChoiceParam | TextParam:
        return next(param for param in self.params if param.name == name)

    def defaults(self, locale: str) -> dict:
        return {param.name: param.default_value(locale) for param in self.params}


class Theme(Named):
    pass


class Group(Named):
    pass


class Prompt(Frozen):
    id: Identifier
    theme: Identifier
    en: Text
    nl: Text
    help: Localized | None = None
    suggests: tuple[Identifier, ...] = ()

    def text(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


class PromptFile(Frozen):
    themes: tuple[Theme, ...] = Field(min_length=1)
    prompts: tuple[Prompt, ...] = Field(min_length=1)


class StarterClause(Frozen):
    clause: Identifier
    params: dict[ParamName, int | str] = Field(default_factory=dict)


class Starter(Frozen):
    id: Identifier
    title: Localized
    description: Localized
    clauses: tuple[StarterClause, ...] = Field(min_length=1)


PatternId = Literal["one-off", "recurring", "control", "using"]
PATTERN_IDS: tuple[str, ...] = get_args(PatternId)


class Statement(Frozen):
    id: Identifier
    pattern: PatternId
    en: Text
    nl: Text
    # Any answer but "not really" brings the help resources, whatever the pattern.
    safety: StrictBool = False

    def text(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


class CheckSection(Frozen):
    """A part of the check with its own heading: whose silence its statements are about."""

    id: Identifier
    title: Localized
    intro: Localized | None = None
    statements: tuple[Statement, ...] = Field(min_length=1)


class Pattern(Frozen):
    id: PatternId
    title: Localized
    explanation: Localized
    helps: LocalizedList


class PatternCheck(Frozen):
    sections: tuple[CheckSection, ...] = Field(min_length=1)
    patterns: tuple[Pattern, ...]

    _statements: tuple[Statement, ...] = PrivateAttr()

    @model_validator(mode="after")
    def complete(self):
        sections = [section.id for section in self.sections]
        if len(set(sections)) != len(sections):
            raise ValueError("section ids must be unique")
        patterns = [pattern.id for pattern in self.patterns]
        if sorted(patterns) != sorted(PATTERN_IDS):
            raise ValueError(f"patterns must be exactly one each of {list(PATTERN_IDS)}")
        statements = [statement for section in self.sections for statement in section.statements]
        # The help for the partner who is afraid must not vanish with an edit.
        if not any(statement.safety for statement in statements):
            raise ValueError("at least one statement needs safety: true")
        return self

    def model_post_init(self, _context) -> None:
        self._statements = tuple(
            statement for section in self.sections for statement in section.statements
        )

    @property
    def statements(self) -> tuple[Statement, ...]:
        """Every statement, in the order the check shows them."""
        return self._statements

    def pattern(self, pattern_id: str) -> Pattern:
        return next(pattern for pattern in self.patterns if pattern.id == pattern_id)


class Library(Frozen):
    """Everything in agreements/, checked as a whole; immutable once loaded."""

    groups: tuple[Group, ...]
    themes: tuple[Theme, ...]
    prompts: tuple[Prompt, ...]
    clauses: tuple[Clause, ...]
    starters: tuple[Starter, ...]
    pattern_check: PatternCheck

    _clauses: MappingProxyType = PrivateAttr()
    _prompts: MappingProxyType = PrivateAttr()

    def model_post_init(self, _context) -> None:
        self._clauses = MappingProxyType({clause.id: clause for clause in self.clauses})
        self._prompts = MappingProxyType({prompt.id: prompt for prompt in self.prompts})

    def clause(self, clause_id: str) -> Clause | None:
        return self._clauses.get(clause_id)

    def prompt(self, prompt_id: str) -> Prompt | None:
        return self._prompts.get(prompt_id)

    def prompts_of(self, theme_id: str) -> list[Prompt]:
        return [prompt for prompt in self.prompts if prompt.theme == theme_id]
