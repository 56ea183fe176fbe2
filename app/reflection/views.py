from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import live
from app.accounts.forms import ButtonForm
from app.content import library
from app.couple import services as couples
from app.forms import error_list
from app.live import follows
from app.navigation import form_status
from app.reflection import bp, services
from app.reflection.forms import AnswerForm, pattern_check_form
from app.transaction import transaction


def _prompt_or_404(prompt_id: str):
    prompt = library().prompt(prompt_id)
    if prompt is None:
        abort(404)
    return prompt


@bp.get("/reflection")
@login_required
@follows("partner", "reflection")
def overview():
    content = library()
    couple = couples.couple_of(current_user)
    partner = couples.partner_of(current_user, couple) if couple else None
    return live.render(
        "reflection/overview.html",
        {"shared": "reflection/_shared.html"},
        progress=services.progress(current_user, content),
        answered=services.answers_of(current_user),
        suggestions=services.suggested_clauses(current_user, content),
        partner=partner,
        shared_with_me=services.shared_answers_of(partner, couple, content) if partner else [],
        check=services.latest_pattern_check(current_user),
        statement_count=len(content.pattern_check.statements),
    )


def _prompt_page(prompt, form, answer, status=200):
    content = library()
    previous, following = services.neighbours(content, prompt)
    theme_prompts = content.prompts_of(prompt.theme)
    couple = couples.couple_of(current_user)
    return (
        render_template(
            "reflection/prompt.html",
            prompt=prompt,
            theme=next(theme for theme in content.themes if theme.id == prompt.theme),
            position=theme_prompts.index(prompt) + 1,
            theme_size=len(theme_prompts),
            previous=previous,
            following=following,
            form=form,
            answer=answer,
            partner=couples.partner_of(current_user, couple) if couple else None,
            in_couple=couple is not None,
            button_form=ButtonForm(),
        ),
        status,
    )


@bp.route("/reflection/prompts/<prompt_id>", methods=["GET", "POST"])
@login_required
@transaction
def prompt(prompt_id: str):
    prompt = _prompt_or_404(prompt_id)
    answer = services.answer_to(current_user, prompt)
    form = AnswerForm(data={"text": answer.text if answer else ""})
    if form.validate_on_submit():
        try:
            services.save_answer(current_user, prompt, form.text.data)
        except services.ReflectionError as error:
            form.text.errors.append(error.message)
        else:
            _previous, following = services.neighbours(library(), prompt)
            if form.save_next.data:
                if following is None:
                    flash(_("Saved. That was the last question; well done for taking the time."))
                    return redirect(url_for("reflection.overview"))
                return redirect(url_for("reflection.prompt", prompt_id=following.id))
            flash(_("Saved."))
            return redirect(url_for("reflection.prompt", prompt_id=prompt.id))
    return _prompt_page(prompt, form, answer, form_status(form))


@bp.post("/reflection/prompts/<prompt_id>/autosave")
@login_required
@transaction
def autosave(prompt_id: str):
    prompt = _prompt_or_404(prompt_id)
    form = AnswerForm()
    if not form.validate():
        return jsonify(saved=False, error=form.text.errors[0]), 400
    try:
        answer = services.save_answer(current_user, prompt, form.text.data)
    except services.ReflectionError as error:
        return jsonify(saved=False, error=error.message), 400
    return jsonify(saved=True, shared=bool(answer and answer.shared))


@bp.route("/reflection/prompts/<prompt_id>/share", methods=["GET", "POST"])
@login_required
@transaction
def share(prompt_id: str):
    """First what the partner will read, and one question; sharing on the answer to it."""
    prompt = _prompt_or_404(prompt_id)
    if request.method == "GET":
        answer = services.answer_to(current_user, prompt)
        couple = couples.couple_of(current_user)
        partner = couples.partner_of(current_user, couple) if couple else None
        if answer is None or answer.shared or partner is None:
            return redirect(url_for("reflection.prompt", prompt_id=prompt.id))
        return render_template(
            "reflection/share.html", prompt=prompt, answer=answer, partner=partner
        )
    try:
        services.share_answer(current_user, prompt)
    except services.ReflectionError as error:
        flash(error.message)
    else:
        flash(_("Shared. Your partner can now read this answer."))
    return redirect(url_for("reflection.prompt", prompt_id=prompt.id))


@bp.post("/reflection/prompts/<prompt_id>/unshare")
@login_required
@transaction
def unshare(prompt_id: str):
    prompt = _prompt_or_404(prompt_id)
    services.unshare_answer(current_user, prompt)
    flash(_("This answer is private again. Your partner may already have read it."))
    return redirect(url_for("reflection.prompt", prompt_id=prompt.id))


def _statement_fields(form):
    return [field for field in form if field.name.startswith("statement_")]


def _sections(form, content):
    """Each section of the check with its statements' fields, in the content's order."""
    return [
        (section, [form[f"statement_{statement.id}"] for statement in section.statements])
        for section in content.pattern_check.sections
    ]


@bp.route("/reflection/pattern-check", methods=["GET", "POST"])
@login_required
@transaction
def pattern_check():
    content = library()
    # Always empty: someone else holding the phone must not find the last answers here.
    form = pattern_check_form(content, str(get_locale()))
    if form.validate_on_submit():
        responses = {
            field.name.removeprefix("statement_"): field.data for field in _statement_fields(form)
        }
        try:
            services.take_pattern_check(current_user, responses, form.note.data or "", content)
        except services.ReflectionError as error:
            form[error.field].errors.append(error.message)
        else:
            return redirect(url_for("reflection.pattern_result"))
    sections = _sections(form, content)
    in_page_order = [field for _section, fields in sections for field in fields] + [form.note]
    return (
        render_template(
            "reflection/pattern_check.html",
            form=form,
            sections=sections,
            page_errors=error_list(form, in_page_order),
            has_result=services.latest_pattern_check(current_user) is not None,
        ),
        form_status(form),
    )


@bp.get("/reflection/pattern-check/result")
@login_required
def pattern_result():
    check = services.latest_pattern_check(current_user)
    if check is None:
        return redirect(url_for("reflection.pattern_check"))
    content = library()
    return render_template(
        "reflection/pattern_result.html",
        check=check,
        pattern=content.pattern_check.pattern(check.pattern),
        afraid=services.feels_afraid(check.responses, content),
        button_form=ButtonForm(),
    )


@bp.post("/reflection/pattern-check/forget")
@login_required
@transaction
def forget_pattern_check():
    services.forget_pattern_check(current_user)
    flash(_("Your pattern check is deleted."))
    return redirect(url_for("reflection.overview"))


@bp.get("/help")
def help_page():
    return render_template("reflection/help.html")
