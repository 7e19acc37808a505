import { dictionaries, type Language, type TextKey } from './texts.ts';

export type TextParams = Record<string, string | number>;
type Text = readonly [key: TextKey, params?: TextParams];

/**
 * The page's language: looks texts up and remembers which element shows which text, so a language
 * switch rewrites the page in place (what the owner typed stays, and the status page's token, kept
 * in memory only, is not lost to a reload).
 */
export class Translator {
  #language: Language;
  readonly #texts = new Map<Element, Text>();
  readonly #attributes = new Map<Element, Map<string, Text>>();
  readonly #listeners = new Set<(language: Language) => void>();

  constructor(language: Language) {
    this.#language = language;
  }

  get language(): Language {
    return this.#language;
  }

  t(key: TextKey, params?: TextParams): string {
    const template = dictionaries[this.#language][key];
    if (!params) return template;
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  }

  /** Shows a text in the element, now and after every language switch. */
  text<E extends Element>(el: E, key: TextKey, params?: TextParams): E {
    this.#texts.set(el, [key, params]);
    el.textContent = this.t(key, params);
    return el;
  }

  /** Shows a text in one of the element's attributes (aria-label, placeholder, title), kept translated. */
  attr<E extends Element>(el: E, name: string, key: TextKey, params?: TextParams): E {
    let attributes = this.#attributes.get(el);
    if (!attributes) this.#attributes.set(el, (attributes = new Map()));
    attributes.set(name, [key, params]);
    el.setAttribute(name, this.t(key, params));
    return el;
  }

  /** Shows text that is not ours (the server's words, a name): it stays as is on a switch. */
  literal<E extends Element>(el: E, value: string): E {
    this.#texts.delete(el);
    el.textContent = value;
    return el;
  }

  /** Empties the element and forgets its text. */
  clear(el: Element): void {
    this.#texts.delete(el);
    el.textContent = '';
  }

  onChange(listener: (language: Language) => void): void {
    this.#listeners.add(listener);
  }

  setLanguage(language: Language): void {
    if (language === this.#language) return;
    this.#language = language;
    document.documentElement.lang = language;
    for (const [el, [key, params]] of this.#texts) el.textContent = this.t(key, params);
    for (const [el, attributes] of this.#attributes) {
      for (const [name, [key, params]] of attributes) el.setAttribute(name, this.t(key, params));
    }
    for (const listener of this.#listeners) listener(language);
  }
}
