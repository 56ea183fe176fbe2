// The error summary (templates/macros.html), after GOV.UK's: focused when the page opens, so
// it is seen and read out first; each link moves focus to its field, with the field's label
// (or its group's legend) in view, not just the input under the quick-exit bar.
(() => {
  const summary = document.querySelector("[data-error-summary]");
  if (!summary) return;

  // Focusable by script only: no extra tab stop once the person has moved on.
  summary.setAttribute("tabindex", "-1");
  summary.addEventListener("blur", () => summary.removeAttribute("tabindex"), { once: true });
  summary.focus();

  function labelOf(input) {
    const fieldset = input.closest("fieldset");
    const legend = fieldset && fieldset.querySelector("legend");
    if (legend && (input.type === "radio" || input.type === "checkbox")) return legend;
    return document.querySelector(`label[for="${CSS.escape(input.id)}"]`) || legend || input;
  }

  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    const input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!input || input.getClientRects().length === 0) return; // hidden: let the link be
    event.preventDefault();
    labelOf(input).scrollIntoView();
    input.focus({ preventScroll: true });
  });
})();
