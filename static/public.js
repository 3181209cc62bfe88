/* The public pages' safety script (templates/public/base.html): the quick exit, and moving
   between the public pages without leaving a trail in the browser's history.

   - The quick-exit button, or Esc pressed twice within a second, replaces the page with the
     neutral site named in <body data-exit-url>: location.replace, so Back does not return.
   - Links marked data-replace open with location.replace, and forms marked
     data-replace-submit are sent with fetch and their answer written over this document:
     neither adds a history entry, so all of the visit is one entry, the one the exit replaces.
   Without JavaScript every link and form still works; only the trail is longer. No request
   leaves for another site except the exit itself. */
(function () {
  "use strict";

  var body = document.body;
  var exitUrl = (body && body.getAttribute("data-exit-url")) || "about:blank";
  var lastEscape = 0;

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    document.title = "";
    if (document.body) {
      document.body.hidden = true;
    }
    window.location.replace(exitUrl);
  }

  function replaceWith(html) {
    document.open();
    document.write(html);
    document.close();
  }

  function sendInPlace(event) {
    var form = event.target;
    if (!window.fetch || !window.FormData || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    window
      .fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "omit",
        cache: "no-store",
        redirect: "follow",
      })
      .then(function (response) {
        return response.text();
      })
      .then(replaceWith)
      .catch(function () {
        form.submit(); /* the network failed: send it the ordinary way */
      });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    while (target && target.nodeType === 1) {
      if (target.hasAttribute("data-quick-exit")) {
        leave(event);
        return;
      }
      if (target.hasAttribute("data-replace") && target.href) {
        event.preventDefault();
        window.location.replace(target.href);
        return;
      }
      target = target.parentNode;
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape < 1000) {
      leave(event);
    }
    lastEscape = now;
  });

  document.addEventListener("submit", function (event) {
    if (event.target && event.target.hasAttribute("data-replace-submit")) {
      sendInPlace(event);
    }
  });

  /* "Is anyone in danger right now?" Yes: the emergency numbers stand out at the top. */
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "danger_now") {
      var box = document.getElementById("emergency");
      if (box) {
        box.classList.toggle("urgent", target.value === "yes" && target.checked);
        if (target.value === "yes" && target.checked) {
          box.scrollIntoView();
        }
      }
    }
  });
})();
