// Live chat monitor: renders snapshots pushed over the websocket and reconnects by itself.
(function () {
  "use strict";
  const root = document.getElementById("monitor");
  const statusEl = document.getElementById("monitor-status");
  const tbody = document.querySelector("#monitor-rooms tbody");
  const empty = document.getElementById("monitor-empty");
  const pager = document.getElementById("monitor-pager");
  let socket = null;
  let retries = 0;
  let page = 0;

  function turn(to) {  // rooms come a page at a time, busiest first
    page = Math.max(0, to);
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ action: "page", page: page }));
    }
  }
  pager.querySelector(".previous").addEventListener("click", () => turn(page - 1));
  pager.querySelector(".next").addEventListener("click", () => turn(page + 1));

  function setStatus(kind, text) {
    statusEl.className = "monitor-status " + kind;
    statusEl.textContent = text;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function figure(name, value) {
    root.querySelector('[data-figure="' + name + '"]').textContent = value;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;  // never innerHTML: display names are user input
    row.appendChild(td);
    return td;
  }

  function renderRooms(rooms) {
    tbody.replaceChildren();
    empty.hidden = rooms.length > 0;
    for (const room of rooms) {
      const row = document.createElement("tr");
      row.dataset.room = room.label;
      cell(row, room.label);
      cell(row, room.kind);
      cell(row, String(room.members));
      cell(row, duration(room.age_s));
      cell(row, room.idle_s === null ? "none yet" : duration(room.idle_s) + " ago");
      cell(row, String(room.messages));
      cell(row, room.names ? room.names.join(", ") : "hidden");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Close room";
      button.addEventListener("click", function () {
        if (window.confirm("Close room " + room.label + "? Its members will be removed.")) {
          socket.send(JSON.stringify({ action: "close_room", label: room.label }));
        }
      });
      cell(row, "").appendChild(button);
      tbody.appendChild(row);
    }
  }

  function renderChart(points) {
    const maxMessages = Math.max(1, ...points.map((p) => p.messages));
    const maxOnline = Math.max(1, ...points.map((p) => p.online));
    const step = 600 / Math.max(1, points.length - 1);
    const line = (value, max) => points.map((p, i) =>
      (i * step).toFixed(1) + "," + (115 - (value(p) / max) * 105).toFixed(1)).join(" ");
    document.querySelector("#monitor-chart .messages").setAttribute(  // an area, under the line
      "points", line((p) => p.messages, maxMessages) + " 600,115 0,115");
    document.querySelector("#monitor-chart .online").setAttribute(
      "points", line((p) => p.online, maxOnline));
    document.getElementById("chart-scale").textContent =
      "(peaks: " + maxMessages + " messages, " + maxOnline + " people)";
  }

  function render(s) {
    figure("online", s.online);
    figure("queue_length", s.queue_length);
    figure("oldest_wait", duration(s.oldest_wait_s));
    figure("active_rooms", s.active_rooms);
    figure("people_in_rooms", s.people_in_rooms);
    figure("messages_per_minute", s.messages_per_minute);
    renderRooms(s.rooms);
    page = s.page;
    pager.querySelector(".where").textContent = "page " + (s.page + 1) + " of " + s.pages;
    pager.querySelector(".previous").disabled = s.page === 0;
    pager.querySelector(".next").disabled = s.page + 1 >= s.pages;
    renderChart(s.chart);
    root.dataset.updated = s.at;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.onopen = function () {
      retries = 0;
      setStatus("live", "Live");
      if (page > 0) turn(page);
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") render(message.snapshot);
      if (message.type === "closed" && !message.ok) {
        window.alert("Room " + message.label + " was already gone.");
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) {
        setStatus("refused", "Not allowed: log in again as staff.");
        return;
      }
      const delay = Math.min(10000, 500 * Math.pow(2, retries++));
      setStatus("down", "Disconnected, reconnecting in " + Math.round(delay / 1000) + " s…");
      window.setTimeout(connect, delay);
    };
  }

  connect();
})();
