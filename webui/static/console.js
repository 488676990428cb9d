// Mezzo console: makes the server-rendered pages live. Everything here is
// an enhancement; every page reads and works without it.
//
// - /events (Server-Sent Events) names the topics that changed; when one
//   concerns this page (the live region's data-live), the region is fetched
//   again with the X-Mezzo-Fragment header and swapped in, at most twice a
//   second. It starts from the change count the page was rendered at
//   (data-seq), so what changed before it opened is not missed.
// - A task page tails stdout and stderr from its /tail stream.
// - The Modules page uploads by drag and drop with a progress bar.
"use strict";

(function () {
  const status = document.getElementById("status");
  const live = document.getElementById("live");

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  // ---- live region ----
  const minGap = 500; // ms between two refreshes of the live region
  let last = 0, timer = null, inflight = false, again = false;

  function refresh() {
    timer = null;
    if (inflight) { again = true; return; }
    inflight = true;
    last = Date.now();
    fetch(location.href, { headers: { "X-Mezzo-Fragment": "live" }, cache: "no-store" })
      .then(function (resp) {
        return resp.text().then(function (html) {
          if (resp.status === 401) { location.reload(); return; } // session over: the reload goes to the login form
          if (!resp.ok && resp.status !== 404) throw new Error("HTTP " + resp.status);
          const focused = document.activeElement && document.activeElement.id;
          live.innerHTML = html;
          if (focused) {
            const el = document.getElementById(focused);
            if (el) el.focus();
          }
          live.dispatchEvent(new CustomEvent("mezzo:refreshed"));
        });
      })
      .catch(function (err) { setStatus("error", "refresh failed: " + err.message); })
      .finally(function () {
        inflight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) return;
    timer = setTimeout(refresh, Math.max(0, minGap - (Date.now() - last)));
  }

  if (live && window.EventSource) {
    const topics = (live.dataset.live || "").split(" ").filter(Boolean);
    // since: the mark ("epoch:count") the page was rendered at, so that the
    // stream first tells of what changed before it opened.
    const events = new EventSource("/events?since=" + encodeURIComponent(live.dataset.seq || ""));
    events.addEventListener("open", function () { setStatus("live", "live"); });
    events.addEventListener("error", function () { setStatus("offline", "reconnecting…"); });
    events.addEventListener("change", function (e) {
      if (e.data.split(" ").some(function (t) { return topics.includes(t); })) schedule();
    });
    window.addEventListener("pagehide", function () { events.close(); });
  }

  // ---- live tail ----
  const maxTail = 1 << 20; // characters kept per pane
  const tails = document.querySelector("[data-tail]");
  if (tails && window.EventSource) {
    const stream = new EventSource(tails.dataset.tail);
    const state = tails.querySelector(".tail-state");
    ["stdout", "stderr"].forEach(function (name) {
      const pre = document.getElementById("tail-" + name);
      stream.addEventListener(name, function (e) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        let text = pre.textContent + JSON.parse(e.data);
        if (text.length > maxTail) text = text.slice(text.length - maxTail);
        pre.textContent = text;
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      });
    });
    // notice: part of a file's output is missing or late (the agent
    // cannot be reached, or answered a window that cannot be read).
    stream.addEventListener("notice", function (e) {
      const n = JSON.parse(e.data);
      const pre = document.getElementById("tail-" + n.file);
      if (pre) pre.textContent += "\n[console: " + n.message + "]\n";
    });
    stream.addEventListener("open", function () { if (state) state.textContent = "(following)"; });
    stream.addEventListener("end", function () {
      stream.close();
      if (state) state.textContent = "(task ended)";
      tails.dataset.ended = "true";
    });
    window.addEventListener("pagehide", function () { stream.close(); });
  }

  // ---- module upload ----
  const form = document.getElementById("upload");
  if (form && window.XMLHttpRequest) {
    const input = document.getElementById("module-file");
    const bar = document.getElementById("upload-progress");
    const result = document.getElementById("upload-result");

    function upload(file) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Content-Type", "application/wasm");
      const csrf = document.querySelector('meta[name="mezzo-csrf"]');
      if (csrf) xhr.setRequestHeader("X-Mezzo-CSRF", csrf.content);
      bar.hidden = false;
      bar.value = 0;
      result.className = "";
      result.textContent = "Uploading " + file.name + "…";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      });
      xhr.addEventListener("load", function () {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (_) { answer = { error: xhr.responseText }; }
        if (xhr.status === 200 && answer.module) {
          bar.value = 100;
          result.className = "ok";
          result.textContent = "Stored " + file.name + " as " + answer.module.sha256 + " (" + answer.module.size + " bytes).";
          const url = new URL(location.href);
          url.searchParams.set("uploaded", answer.module.sha256);
          history.replaceState(null, "", url);
          refresh();
        } else {
          result.className = "error";
          result.textContent = answer.error || ("Upload failed: HTTP " + xhr.status);
        }
      });
      xhr.addEventListener("error", function () {
        result.className = "error";
        result.textContent = "Upload failed: the console could not be reached.";
      });
      xhr.send(file);
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (input.files.length) upload(input.files[0]);
    });
    input.addEventListener("change", function () { if (input.files.length) upload(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (t) {
      form.addEventListener(t, function (e) { e.preventDefault(); form.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      form.addEventListener(t, function () { form.classList.remove("over"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
    });
  }

  // ---- keyboard ----
  // "/" jumps to the page's filter or search field; Escape leaves it.
  document.addEventListener("keydown", function (e) {
    const t = e.target;
    const typing = t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const field = document.querySelector(".filters input, .filters select");
      if (field) { e.preventDefault(); field.focus(); }
    } else if (e.key === "Escape" && typing) {
      t.blur();
    }
  });
})();
