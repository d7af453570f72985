// Live order status: the frontend streams the order's live fields whenever they change (Server-Sent Events).
(function () {
  "use strict";
  const article = document.querySelector("article.order");
  if (!article || article.dataset.final === "true" || !window.EventSource) return;
  const $ = (selector) => article.querySelector(selector);
  const note = $("[data-testid=live-note]");
  const source = new EventSource("/orders/" + encodeURIComponent(article.dataset.orderId) + "/events");

  function timelineItem(entry) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = entry.at;
    time.textContent = String(entry.at).substring(11, 19);
    const badge = document.createElement("span");
    badge.className = "status " + entry.status;
    badge.textContent = entry.status;
    item.append(time, " ", badge, " " + (entry.detail || ""));
    return item;
  }

  source.addEventListener("order", (message) => {
    const order = JSON.parse(message.data);
    const status = $("[data-testid=order-status]");
    status.textContent = order.status;
    status.className = "status " + order.status;
    $("[data-testid=order-reason]").textContent = order.reason_text || "";
    $(".reason").hidden = !order.reason;
    $("[data-testid=carrier]").textContent = order.carrier || "";
    $("[data-testid=tracking-number]").textContent = order.tracking_number || "";
    $(".tracking").hidden = !order.tracking_number;
    $("[data-testid=timeline]").replaceChildren(...(order.timeline || []).map(timelineItem));
  });
  source.addEventListener("unavailable", () => {
    note.textContent = "Live updates are paused: the Order Service is unavailable. They resume by themselves.";
  });
  source.addEventListener("available", () => {
    note.textContent = "This page updates by itself as the order moves on.";
  });
  source.addEventListener("end", () => {
    source.close();
    article.dataset.final = "true";
    note.textContent = "This order is complete.";
  });
})();
