// Row, Column and GridBox (docs/catalogue.md, "Layouts"). Children are kept in place:
// when `children` changes, existing child views are reused and only moved when out of
// order, so focus and scroll positions inside them survive.
//
// Sizing (docsync.css): fixed / null → the width and height given; stretch_width fills the
// parent's width (in a Row: takes the free space); stretch_both fills both; a stretched
// child of a Column stretches across it.

import { View, registerView, syncChildViews } from "./views.js";

class BoxView extends View {
  static direction = "column";

  render() {
    this.el.classList.add("docsync-box", `docsync-${this.constructor.direction}`);
    const spacing = () => {
      const s = this.model.get("spacing");
      // Bokeh's default spacing is 0 but its widgets carry margins; 0 keeps our default gap.
      this.el.style.gap = typeof s === "number" && s > 0 ? `${s}px` : "";
    };
    spacing();
    this.listen("spacing", spacing);
    this.listen("children", () => this.syncChildren());
    this.syncChildren();
  }

  syncChildren() {
    const children = this.model.get("children");
    syncChildViews(this, this.el, Array.isArray(children) ? children : []);
  }
}

export class RowView extends BoxView {
  static direction = "row";
}

export class ColumnView extends BoxView {
  static direction = "column";
}

/**
 * GridBox: `children` is a list of `[model, row, col]` or `[model, row, col, rowspan, colspan]`
 * (None holes in gridplot are simply absent). `ncols` / `nrows` are not needed: CSS grid
 * places each child at its row and column.
 */
export class GridBoxView extends View {
  render() {
    this.el.classList.add("docsync-box", "docsync-grid");
    const spacing = () => {
      const s = this.model.get("spacing");
      if (Array.isArray(s)) this.el.style.gap = `${Number(s[0]) || 0}px ${Number(s[1]) || 0}px`;
      else this.el.style.gap = typeof s === "number" && s > 0 ? `${s}px` : "";
    };
    spacing();
    this.listen("spacing", spacing);
    this.listen("children", () => this.syncChildren());
    this.syncChildren();
  }

  syncChildren() {
    const items = Array.isArray(this.model.get("children")) ? this.model.get("children") : [];
    const entries = items.filter((it) => Array.isArray(it) && it[0] && typeof it[0] === "object");
    syncChildViews(this, this.el, entries.map((it) => it[0]), (view, i) => {
      const [, row, col, rowspan = 1, colspan = 1] = entries[i];
      view.el.style.gridRow = `${Number(row) + 1} / span ${Number(rowspan) || 1}`;
      view.el.style.gridColumn = `${Number(col) + 1} / span ${Number(colspan) || 1}`;
    });
  }
}

registerView("Row", RowView);
registerView("Column", ColumnView);
registerView("GridBox", GridBoxView);
// gridplot's wrapper type, if the model layer names it so.
registerView("GridPlot", GridBoxView);
