// The browser side of custom.py's StockGauge: a labelled bar that follows the model.
// Loaded as an ES module; registerView() tells docsync.js how to draw the model type.
import { View, registerView } from "/static/views.js";

class StockGaugeView extends View {
  render() {
    this.el.classList.add("stock-gauge");
    this.el.style.cssText = "font: 14px sans-serif; margin: 12px 0; width: 240px";
    this.labelEl = document.createElement("div");
    this.track = document.createElement("div");
    this.track.style.cssText = "height: 18px; background: #e2dccb; border-radius: 9px; overflow: hidden";
    this.bar = document.createElement("div");
    this.bar.style.cssText = "height: 100%; background: #3b6ea8; transition: width 0.3s";
    this.track.appendChild(this.bar);
    this.el.replaceChildren(this.labelEl, this.track);
    for (const prop of ["label", "value", "maximum"]) {
      this.listen(prop, () => this.update());
    }
    this.update();
  }

  update() {
    const label = this.model.get("label");
    const value = Number(this.model.get("value"));
    const maximum = Math.max(1, Number(this.model.get("maximum")));
    const share = Math.min(1, Math.max(0, value / maximum));
    this.labelEl.textContent = `${label}: ${value} / ${maximum}`;
    this.bar.style.width = `${(share * 100).toFixed(1)}%`;
  }
}

registerView("StockGauge", StockGaugeView);
