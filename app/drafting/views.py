from flask import abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from app.content import library
from app.couple import services as couples
from app.couple.access import couple_or_404, current_couple, owned_or_404
from app.drafting import bp, services
from app.drafting.forms import CustomClauseForm, start_form
from app.extensions import db
from app.forms import FieldError, error_list
from app.live import follows, reloads
from app.reflection import services as reflections
from app.transaction import transaction


def _draft_or_404(clause_id: int | None = None):
    """The couple's draft. A change that arrives just after the partner's finalising
    signature answers 409 and shows what was typed, so nothing is lost."""
    couple = couple_or_404()
    draft = services.current_draft(couple)
    if draft is None:
        if request.method == "POST" and services.was_finalised(couple, clause_id):
            typed = {
                key: value
                for key, value in request.form.items()
                if key not in ("csrf_token", "version", "template", "direction") and value.strip()
            }
            abort(make_response(render_template("drafting/closed.html", typed=typed), 409))
        abort(404)
    return couple, draft


def _clause_or_404(clause_id: int):
    couple, draft = _draft_or_404(clause_id)
    return couple, draft, owned_or_404(services.clause_of(draft, clause_id))


def _version() -> int | None:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


def _live_context(couple, draft, editing=None) -> dict:
    content = library()
    partners = couple.partners
    partner = couples.partner_of(current_user, couple)
    clauses = services.active_clauses(draft)
    in_agreement = {clause.template_id for clause in clauses}
    suggested = [
        clause
        for clause in reflections.suggested_clauses(current_user, content)
        if clause.id not in in_agreement
    ]
    return {
        "draft": draft,
        "me": current_user,
        "partner": partner,
        "partners": partners,
        "clauses": clauses,
        "removed": services.removed_clauses(draft),
        "progress": services.progress(draft, partners),
        "history": services.history(draft),
        "library": content,
        "suggested": suggested,
        "in_agreement": in_agreement,
        "editing": editing or {},
        "title_of": lambda clause: services.clause_title(clause, content, draft.language),
        "text_of": lambda clause: services.clause_text(clause, content, draft.language),
    }


# The fields of a clause's change forms (templates/drafting/_clause.html), by error key.
_CLAUSE_FIELDS = ("param-", "title", "body")


def _page_errors(editing, custom_form) -> list[FieldError]:
    """The error summary of the agreement page: a clause's fields sent back, then a new clause."""
    errors = [
        FieldError(f"c{clause_id}-{key.removeprefix('param-')}", message)
        for clause_id, state in editing.items()
        if clause_id != "add"
        for key, message in state["errors"].items()
        if key.startswith(_CLAUSE_FIELDS)
    ]
    return errors + error_list(custom_form)


def _page(couple, draft, status=200, editing=None, custom_form=None):
    custom_form = custom_form or CustomClauseForm(formdata=None)
    return (
        render_template(
            "drafting/agreement.html",
            custom_form=custom_form,
            page_errors=_page_errors(editing or {}, custom_form),
            caution=reflections.wants_caution(current_user, library()),
            **_live_context(couple, draft, editing),
        ),
        status,
    )


def _back_to(clause=None):
    anchor = f"clause-{clause.id}" if clause is not None else None
    return redirect(url_for("drafting.agreement", _anchor=anchor))


def _start_page(form):
    starters = {starter.id: starter for starter in library().starters}
    return render_template(
        "drafting/start.html",
        form=form,
        library_starters=starters,
        caution=reflections.wants_caution(current_user, library()),
    )


@bp.get("/agreement")
@login_required
@follows("partner", "agreement", "signing")
def agreement():
    couple = current_couple()
    if couple is None:
        reloads("partner")  # the partner joins
        return render_template("drafting/waiting.html")
    draft = services.current_draft(couple)
    if draft is None:
        reloads("agreement")  # the partner starts
        locale = str(get_locale())
        form = start_form(library(), locale, data={"language": locale, "starter": "basic"})
        return _start_page(form)
    return _page(couple, draft)


@bp.post("/agreement/start")
@login_required
@transaction
def start():
    couple = couple_or_404()
    form = start_form(library(), str(get_locale()))
    if form.validate():
        try:
            services.start_agreement(
                couple, current_user, form.language.data, form.starter.data or None, library()
            )
        except services.DraftingError as error:
            form.starter.errors = [*form.starter.errors, *error.errors.values()]
        else:
            return _back_to()
    if services.current_draft(couple) is not None:
        return _back_to()
    return _start_page(form), 400


@bp.get("/agreement/live")
@login_required
def live():
    couple, draft = _draft_or_404()
    return render_template("drafting/_live.html", **_live_context(couple, draft))


@bp.post("/agreement/language")
@login_required
@transaction
def language():
    couple, draft = _draft_or_404()
    try:
        services.set_language(draft, current_user, request.form.get("language", ""), library())
    except services.DraftingError:
        abort(400)
    return _back_to()


@bp.post("/agreement/clauses")
@login_required
@transaction
def add():
    couple, draft = _draft_or_404()
    try:
        clause = services.add_clause(
            draft, current_user, request.form.get("template", ""), library()
        )
    except services.DraftingError as error:
        return _page(couple, draft, 400, editing={"add": error.errors})
    return _back_to(clause)


@bp.post("/agreement/clauses/custom")
@login_required
@transaction
def add_custom():
    couple, draft = _draft_or_404()
    form = CustomClauseForm()
    form.validate()
    try:
        clause = services.add_custom_clause(
            draft, current_user, form.title.data, form.body.data, library()
        )
    except services.DraftingError as error:
        for name, message in error.errors.items():
            form[name].errors = [message]
        return _page(couple, draft, 400, custom_form=form)
    return _back_to(clause)


def _change(clause_id: int, change, kind: str):
    """Run one change to a clause; a stale version answers 409 with the typed text shown."""
    couple, draft, clause = _clause_or_404(clause_id)
    submitted = {key: value for key, value in request.form.items() if key != "csrf_token"}
    if _version() is None:
        editing = {clause.id: {"kind": kind, "typed": submitted, "errors": {}, "missing": True}}
        return _page(couple, draft, 400, editing=editing)
    try:
        change(draft, clause)
    except services.StaleVersion as stale:
        db.session.rollback()
        couple, draft = _draft_or_404()
        current = services.clause_in(draft, stale.clause.id)
        editing = {current.id: {"kind": kind, "typed": submitted, "errors": {}, "stale": True}}
        return _page(couple, draft, 409, editing=editing)
    except services.DraftingError as error:
        db.session.rollback()
        couple, draft = _draft_or_404()
        editing = {clause.id: {"kind": kind, "typed": submitted, "errors": error.errors}}
        return _page(couple, draft, 400, editing=editing)
    return _back_to(clause)


@bp.post("/agreement/clauses/<int:clause_id>/params")
@login_required
@transaction
def change_params(clause_id: int):
    return _change(
        clause_id,
        lambda draft, clause: services.update_params(
            draft, clause, current_user, _version(), request.form, library()
        ),
        "params",
    )


@bp.post("/agreement/clauses/<int:clause_id>/text")
@login_required
@transaction
def change_text(clause_id: int):
    return _change(
        clause_id,
        lambda draft, clause: services.update_custom(
            draft,
            clause,
            current_user,
            _version(),
            request.form.get("title", ""),
            request.form.get("body", ""),
            library(),
        ),
        "text",
    )


@bp.post("/agreement/clauses/<int:clause_id>/approve")
@login_required
@transaction
def approve(clause_id: int):
    return _change(
        clause_id,
        lambda draft, clause: services.approve(draft, clause, current_user, _version(), library()),
        "approve",
    )


def _agree_rest_page(couple, draft, status=200, changed=False):
    context = _live_context(couple, draft)
    waiting = context["progress"].open_for(current_user)
    if not waiting and status == 200:
        return _back_to()
    return render_template(
        "drafting/agree_rest.html", waiting=waiting, changed=changed, **context
    ), status


@bp.get("/agreement/agree-to-the-rest")
@login_required
def agree_rest():
    """The clauses still waiting for my yes, to read once more before agreeing to them all."""
    couple, draft = _draft_or_404()
    return _agree_rest_page(couple, draft)


def _seen_versions(draft) -> list:
    """The clauses the confirmation listed, each with the version it showed."""
    seen = []
    for key, value in request.form.items():
        if not key.startswith("clause-"):
            continue
        try:
            clause_id, version = int(key.removeprefix("clause-")), int(value)
        except ValueError:
            abort(400)
        seen.append((owned_or_404(services.clause_of(draft, clause_id)), version))
    return seen


@bp.post("/agreement/agree-to-the-rest")
@login_required
@transaction
def agree_to_rest():
    couple, draft = _draft_or_404()
    try:
        services.approve_all(draft, current_user, _seen_versions(draft), library())
    except services.StaleVersion:
        db.session.rollback()
        couple, draft = _draft_or_404()
        return _agree_rest_page(couple, draft, 409, changed=True)
    return redirect(url_for("drafting.agreement", _anchor="summary"))


@bp.post("/agreement/clauses/<int:clause_id>/withdraw")
@login_required
@transaction
def withdraw(clause_id: int):
    return _change(
        clause_id,
        lambda draft, clause: services.withdraw(draft, clause, current_user, _version(), library()),
        "approve",
    )


@bp.post("/agreement/clauses/<int:clause_id>/remove")
@login_required
@transaction
def remove(clause_id: int):
    return _change(
        clause_id,
        lambda draft, clause: services.remove(draft, clause, current_user, _version(), library()),
        "remove",
    )


@bp.post("/agreement/clauses/<int:clause_id>/restore")
@login_required
@transaction
def restore(clause_id: int):
    couple, draft, clause = _clause_or_404(clause_id)
    services.restore(draft, clause, current_user, library())
    return _back_to(clause)


@bp.post("/agreement/clauses/<int:clause_id>/move")
@login_required
@transaction
def move(clause_id: int):
    couple, draft, clause = _clause_or_404(clause_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    services.move(draft, clause, current_user, step, library())
    return _back_to(clause)
