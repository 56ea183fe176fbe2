// The signature field: drawing with signature_pad (touch or mouse, no page scroll while
// drawing, kept across a resize or a form sent back with an error), erasing, or typing.
// The page comes with the pad hidden, "type instead" ticked and a line saying so: the way
// without JavaScript. Here the pad is shown instead, and a fresh form starts on drawing.
(() => {
  const canvas = document.querySelector("canvas[data-signature-pad]");
  if (!canvas || !window.SignaturePad) return;
  const field = canvas.closest("[data-signature-field]");
  const input = document.getElementById("signature");
  const typed = document.getElementById("typed");
  const name = document.getElementById("full_name");
  const preview = document.querySelector("[data-typed-preview]");
  const pad = new SignaturePad(canvas, { penColor: "#1f2a30", minWidth: 0.8, maxWidth: 2.6 });
  let restored = false;

  function fit() {
    if (!canvas.offsetWidth) return; // hidden while typing: fitted when shown
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    // redraw() repaints the strokes and any drawing restored with fromDataURL().
    pad.redraw();
    // A form sent back with an error still holds the drawing: put it back on the pad.
    if (!restored && input.value.startsWith("data:image/png")) {
      restored = true;
      pad.fromDataURL(input.value, { width: canvas.offsetWidth, height: canvas.offsetHeight });
    }
  }
  window.addEventListener("resize", fit);

  pad.addEventListener("endStroke", () => {
    input.value = pad.toDataURL("image/png");
  });
  field.querySelector("[data-erase]").addEventListener("click", () => {
    pad.clear();
    input.value = "";
  });

  const showTyped = () => {
    const shown = !field.hidden;
    field.hidden = typed.checked;
    preview.hidden = !typed.checked || !name.value;
    preview.textContent = name.value;
    if (!shown && !field.hidden) fit();
  };
  document.querySelector("[data-typing-only]").hidden = true;
  if (canvas.closest("form").hasAttribute("data-fresh")) typed.checked = false;
  typed.addEventListener("change", showTyped);
  name.addEventListener("input", showTyped);
  showTyped();
})();
