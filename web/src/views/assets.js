// The Assets view: being built (issue #16).
import { el } from "../ui.js";

export default {
  id: "assets",
  title: "Assets",
  mount(root) {
    root.append(el("h2", { tabindex: -1, text: "Assets" }));
  },
  async show() {},
};
