// The Legal risk view: being built (issue #16).
import { el } from "../ui.js";

export default {
  id: "legal",
  title: "Legal risk",
  mount(root) {
    root.append(el("h2", { tabindex: -1, text: "Legal risk" }));
  },
  async show() {},
};
