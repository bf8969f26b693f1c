(function () {
  "use strict";
  var script = document.getElementById({{ element_id_json }}) || document.currentScript;
  var el = document.createElement("div");
  el.className = "docsync-root";
  el.setAttribute("data-docsync-app", {{ app_path_json }});
  if (script && script.parentNode) {
    script.parentNode.insertBefore(el, script.nextSibling);
  } else {
    document.body.appendChild(el);
  }
  var options = {wsUrl: {{ ws_url_json }}, token: {{ token_json }}};
  {% if css_url_json %}
  var link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = {{ css_url_json }};
  document.head.appendChild(link);
  {% endif %}
  import({{ docsync_js_json }}).then(function (m) {
    var embed = m.embed || (window.Docsync && window.Docsync.embed);
    embed(el, options);
  }).catch(function (err) {
    el.textContent = "docsync: could not load the client library: " + err;
  });
})();
