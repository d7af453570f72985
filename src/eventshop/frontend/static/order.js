// Live order status: the frontend streams the order as its customer sees it whenever it changes (Server-Sent Events).
// Every text arrives worded by the server; this script only puts it in place.
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
    badge.textContent = entry.status_text;
    item.append(time, " ", badge, " " + (entry.text || ""));
    return item;
  }

  source.addEventListener("order", (message) => {
    const order = JSON.parse(message.data);
    const status = $("[data-testid=order-status]");
    status.textContent = order.status_text;
    status.className = "status " + order.status;
    const headline = $("[data-testid=order-headline]");
    headline.textContent = order.headline || "";
    headline.className = "headline " + order.status;
    const money = $("[data-testid=money-note]");
    money.textContent = order.money_note || "";
    money.hidden = !order.money_note;
    $("[data-testid=order-reason]").textContent = order.reason_text || "";
    $(".reason").hidden = !order.reason_text;
    $("[data-testid=carrier]").textContent = order.carrier || "";
    $("[data-testid=tracking-number]").textContent = order.tracking_number || "";
    $(".tracking").hidden = !order.tracking_number;
    $("[data-testid=timeline]").replaceChildren(...(order.timeline || []).map(timelineItem));
  });
  source.addEventListener("unavailable", (message) => {
    note.textContent = JSON.parse(message.data).message;
  });
  source.addEventListener("available", (message) => {
    note.textContent = JSON.parse(message.data).note;
  });
  source.addEventListener("end", (message) => {
    source.close();
    article.dataset.final = "true";
    note.textContent = JSON.parse(message.data).note || "";
  });
})();
