// Roster's dashboard: "Copy" buttons for secrets shown once. Without this script the field
// stays selectable by hand; with it, a button copies the field named by data-copy.
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
