// My printing: a group chosen in a list opens its form at once (the button stays for those
// without script); a job still being measured is looked at again a few seconds later.
"use strict";
document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
if (document.querySelector("[data-measuring]")) {
  window.setTimeout(() => {
    const typing = document.activeElement && document.activeElement.matches("input, select");
    if (!typing) window.location.reload();
  }, 3000);
}
