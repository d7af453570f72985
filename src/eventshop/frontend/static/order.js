// Live order status: the frontend streams the order as it changes (Server-Sent Events).
(function () {
  const article = document.querySelector("article.order");
  if (!article || !window.EventSource) return;
  const id = article.dataset.orderId;
  const source = new EventSource("/orders/" + id + "/events");
  const text = (sel, value) => { const el = article.querySelector(sel); if (el) el.textContent = value; };
  source.addEventListener("order", (message) => {
    const order = JSON.parse(message.data);
    const status = article.querySelector("[data-testid=order-status]");
    status.textContent = order.status;
    status.className = "status " + order.status;
    text("[data-testid=order-reason]", order.reason ? "— " + order.reason : "");
    if (order.tracking_number) {
      text("[data-testid=tracking-number]", order.tracking_number);
      text("[data-testid=carrier]", order.carrier || "");
      article.querySelector(".tracking").hidden = false;
    }
    const list = article.querySelector("[data-testid=timeline]");
    list.replaceChildren(...order.timeline.map((t) => {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = t.at.substring(11, 19);
      const badge = document.createElement("span");
      badge.className = "status " + t.status;
      badge.textContent = t.status;
      item.append(time, " ", badge, " " + t.detail);
      return item;
    }));
  });
  source.addEventListener("end", () => {
    source.close();
    text(".live-note", "This order is complete.");
  });
})();
