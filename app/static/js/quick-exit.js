// Quick exit: leave for a neutral page and replace this history entry, so Back does not return.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-quick-exit]");
  if (!link) return;
  event.preventDefault();
  sessionStorage.clear();
  window.location.replace(link.href);
});
