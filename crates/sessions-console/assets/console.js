// Slack sessions console: the little script the pages use. Everything works without it (the
// server asks for confirmation itself); with it, destructive forms confirm in a dialog and a
// running revocation shows live progress.
"use strict";

(function () {
  const dialog = document.getElementById("confirm");

  // Destructive forms carry data-confirm (what will happen) and data-confirm-action (the
  // confirm button's label). Submitting opens the dialog; Cancel (or Escape) sends nothing.
  function setupConfirm() {
    if (!dialog || typeof dialog.showModal !== "function") return;
    const text = document.getElementById("confirm-text");
    const ok = document.getElementById("confirm-ok");
    const cancel = document.getElementById("confirm-cancel");
    let pending = null;
    let opener = null;

    document.addEventListener("submit", function (ev) {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
      if (form.dataset.confirmed === "yes") return;
      ev.preventDefault();
      pending = form;
      opener = ev.submitter || document.activeElement;
      text.textContent = form.dataset.confirm;
      ok.textContent = form.dataset.confirmAction || "Confirm";
      dialog.showModal();
      cancel.focus();
    });

    ok.addEventListener("click", function () {
      const form = pending;
      pending = null;
      dialog.close();
      if (!form) return;
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "confirmed";
      input.value = "yes";
      form.appendChild(input);
      form.dataset.confirmed = "yes";
      ok.disabled = true;
      form.submit();
    });

    cancel.addEventListener("click", function () {
      dialog.close();
    });

    dialog.addEventListener("close", function () {
      pending = null;
      if (opener && typeof opener.focus === "function") opener.focus();
    });
  }

  // A run in progress: poll its JSON and update the page; reload once it has finished so the
  // report appears.
  function setupProgress() {
    const box = document.getElementById("run-progress");
    if (!box || !box.dataset.url) return;
    const bar = box.querySelector("progress");
    const line = document.getElementById("run-line");
    async function tick() {
      try {
        const resp = await fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" });
        if (resp.ok) {
          const p = await resp.json();
          if (bar) {
            bar.max = Math.max(p.total, 1);
            bar.value = p.done;
          }
          if (line) line.textContent = p.line;
          if (p.finished) {
            window.location.reload();
            return;
          }
        }
      } catch (e) {
        // The console may be restarting; keep trying.
      }
      window.setTimeout(tick, 700);
    }
    window.setTimeout(tick, 300);
  }

  setupConfirm();
  setupProgress();
})();
