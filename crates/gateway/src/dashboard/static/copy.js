// Roster's dashboard, everything working without it: "Copy" buttons for secrets shown once
// (a button copies the field named by data-copy), and forms that show they are being sent.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copy + "_copied");
  try {
    await navigator.clipboard.writeText(field.value);
    if (status) status.textContent = "Copied.";
  } catch (_) {
    field.select();
    if (status) status.textContent = "Selected: press Ctrl+C or ⌘C to copy.";
  }
});
for (const button of document.querySelectorAll("button[data-copy]")) button.hidden = false;

// Long actions: a form being sent shows it, and cannot be sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method.toLowerCase() !== "post") return;
  const button = form.querySelector("button[type=submit]");
  if (!button) return;
  form.setAttribute("aria-busy", "true");
  button.disabled = true;
  button.dataset.label = button.textContent;
  button.textContent = "Working…";
});
// Back from the browser's cache, a form is usable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll("button[data-label]")) {
    button.disabled = false;
    button.textContent = button.dataset.label;
    button.closest("form")?.removeAttribute("aria-busy");
  }
});
