// signpost files pages: a Copy button for share links. Without JavaScript the link stays a
// selectable text field.
"use strict";

(function () {
  document.documentElement.classList.add("js");
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch (_) {
        button.textContent = "Press Ctrl+C to copy";
      }
    });
  }
})();
