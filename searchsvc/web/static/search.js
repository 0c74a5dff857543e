/* Suggestions under the search box: the ARIA 1.2 combobox pattern with a listbox.
   The rest of the page (filters, sort, pages) works without this script.
   CSP-clean: no inline script or style, no eval, text only through textContent. */
(function () {
  "use strict";
  var input = document.getElementById("q");
  if (!input || !window.fetch || !input.form) return;
  var form = input.form;
  var url = input.getAttribute("data-suggest") || "/api/suggest";
  var list = document.createElement("ul");
  var status = document.createElement("p");
  var items = [], active = -1, timer = 0, seq = 0, shownFor = null, controller = null;

  list.id = "q-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggestions");
  list.hidden = true;
  input.parentNode.appendChild(list);
  status.className = "vh";
  status.setAttribute("role", "status");
  form.appendChild(status);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    select(-1);
  }

  function open() {
    if (!items.length) return close();
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function select(i) {
    var options = list.children;
    if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
    active = i;
    if (i < 0 || !options[i]) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
      return;
    }
    options[i].setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", options[i].id);
    options[i].scrollIntoView({ block: "nearest" });
  }

  function render(suggestions) {
    items = suggestions.filter(function (s) { return s && typeof s.text === "string"; }).slice(0, 10);
    active = -1;
    list.textContent = "";
    items.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = "q-suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", i);
      if (s.kind === "title") {
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = "Article";
        li.appendChild(kind);
      }
      li.appendChild(document.createTextNode(s.text));
      list.appendChild(li);
    });
    status.textContent = items.length
      ? items.length + (items.length > 1 ? " suggestions" : " suggestion") + " : flèches haut et bas pour choisir"
      : "";
    if (items.length) open(); else close();
  }

  function lookUp() {
    var q = input.value;
    if (q === shownFor) return open();
    if (controller) controller.abort();
    controller = null;
    if (q.trim().length < 2) { shownFor = q; return render([]); }
    var mine = ++seq;
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined
    })
      .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (data) {
        if (mine !== seq || document.activeElement !== input) return;
        shownFor = q;
        render(Array.isArray(data.suggestions) ? data.suggestions : []);
      })
      .catch(function () { /* aborted or offline: no suggestions, the box still works */ });
  }

  function choose(i) {
    var s = items[i];
    if (!s) return;
    close();
    if (s.kind === "title" && typeof s.url === "string" && /^(https?:\/\/|\/)/.test(s.url)) {
      window.location.assign(s.url);
      return;
    }
    // A title: search for it as a phrase, which puts that article first.
    input.value = s.kind === "title" ? '"' + s.text.replace(/"/g, " ").trim() + '"' : s.text;
    shownFor = input.value;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 150);
  });
  input.addEventListener("keydown", function (e) {
    var n = items.length;
    if (e.isComposing) return;
    if (e.altKey && e.key === "ArrowDown") { lookUp(); e.preventDefault(); return; }
    if (e.key === "ArrowDown") {
      if (list.hidden) lookUp(); else select((active + 1) % n);
      e.preventDefault();
    } else if (e.key === "ArrowUp") {
      if (!list.hidden) select(active <= 0 ? n - 1 : active - 1);
      e.preventDefault();
    } else if (e.key === "Enter") {
      if (!list.hidden && active >= 0) { e.preventDefault(); choose(active); } else close();
    } else if (e.key === "Escape") {
      if (!list.hidden) { e.preventDefault(); close(); }
    } else if (e.key === "Tab") {
      close();
    }
  });
  input.addEventListener("blur", close);
  // Keep the focus in the box while clicking an option (so blur does not close it first).
  list.addEventListener("mousedown", function (e) { e.preventDefault(); });
  list.addEventListener("click", function (e) {
    var li = e.target.closest ? e.target.closest("[role=option]") : null;
    if (li) choose(Number(li.getAttribute("data-index")));
  });

  // Empty date fields stay out of the URL; restored when the page comes back from history.
  form.addEventListener("submit", function () {
    clearTimeout(timer);
    seq++;
    close();
    Array.prototype.forEach.call(form.querySelectorAll("input[type=date], select"), function (field) {
      if (!field.value) field.disabled = true;
    });
  });
  // Back from history: show the state the URL holds, not what was typed before leaving.
  window.addEventListener("pageshow", function (e) {
    close();
    Array.prototype.forEach.call(form.querySelectorAll("[disabled]"), function (field) { field.disabled = false; });
    if (e.persisted) { form.reset(); shownFor = null; }
  });
})();
