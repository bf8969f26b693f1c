// The browser side of custom.py's StockGauge: a labelled bar that follows the model.
//
// An ES module served from this app's static/ folder; templates/index.html loads it
// before the app starts, and registerView() tells docsync.js how to draw the type.
// The relative import is /static/views.js, the module docsync.js itself uses (so it also
// works under `docsync serve --prefix`).
import { View, registerView } from "../../static/views.js";

class StockGaugeView extends View {
  render() {
    this.el.classList.add("stock-gauge");
    const box = document.createElement("div");
    box.style.cssText = "font: 14px sans-serif; margin: 12px 0; width: 240px";
    this.labelEl = document.createElement("div");
    const track = document.createElement("div");
    track.style.cssText = "height: 18px; background: #e2dccb; border-radius: 9px; overflow: hidden";
    this.bar = document.createElement("div");
    this.bar.style.cssText = "height: 100%; background: #3b6ea8; transition: width 0.3s";
    track.appendChild(this.bar);
    box.append(this.labelEl, track);
    this.el.replaceChildren(box);
    // Python changes any of these → only this view updates, in place.
    for (const prop of ["label", "value", "maximum"]) this.listen(prop, () => this.update());
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
