// The Defence funding view: being built (issue #16).
import { el } from "../ui.js";

export default {
  id: "funding",
  title: "Defence funding",
  mount(root) {
    root.append(el("h2", { tabindex: -1, text: "Defence funding" }));
  },
  async show() {},
};
