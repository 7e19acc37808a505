/**
 * The citizen program's public pages (issue 26), one bundle (enrol.js) for both, chosen by path:
 *   /enrol          the enrolment form, then the receipt with the private status link (shown once)
 *   /enrol/status   the owner's status page; the token comes in the fragment `#t=<token>`, is read
 *                   once, removed from the address bar (history.replaceState) and kept in memory only
 * No account, no cookies, no external requests. Spanish (es-MX) first; `?lang=en` or the language
 * button switches in place.
 *
 * Stable hooks for tests:
 *   every page   #lang-switch (button: "English" / "Español"), <html lang> = es-MX | en,
 *                #form-error (general message, role=alert; on the status page data-code="invalid_link"
 *                for a refused link), [data-field-error="<body path>"] (a field's message, hidden when none)
 *   /enrol form  #enrol-form, #owner-kind (select: person | organisation), #owner-name, #email, #phone,
 *                #address, #lat, #lng, #use-location, #location-status, #camera-name, #camera-url,
 *                #camera-username, #camera-password, #category (select, '' = none chosen),
 *                input[name="sharing"] (values live | incident-only; ids #sharing-option-live,
 *                #sharing-option-incident-only), #agreement (box; aria-busy while loading),
 *                #agreement-version (data-version), #agreement-text, #agreement-accept, #agreement-retry,
 *                #submit, #submit-unreachable (shown after a 422 unreachable),
 *                #check-result (data-result = checking | unauthorized | unreachable; hidden when none)
 *                field-error paths: owner.kind owner.name contact contact.email contact.phone address
 *                location location.lat location.lng camera.name camera.category camera.url
 *                camera.credentials camera.credentials.username camera.credentials.password sharing
 *                agreement agreement.accepted
 *   receipt      #receipt, #reference, #receipt-check (data-result), #receipt-status (data-status),
 *                #status-link (read-only input; its value is the link), #copy-status-link, #copy-result,
 *                #status-open
 *   /enrol/status #status-loading, #status-summary, #reference, #status (data-status = pending |
 *                approved | rejected | withdrawn), #status-reason (hidden when none), #status-camera,
 *                #status-url, #status-check, #status-sharing, #status-notice (success messages),
 *                #status-actions (hidden unless pending or approved), #sharing-live,
 *                #sharing-incident-only (radios name="status-sharing"), #sharing-save, #update-form,
 *                #update-url, #update-username, #update-password, #update-remove-credentials,
 *                #update-save, #update-unreachable (shown after a 422 unreachable; resends with
 *                submitUnreachable: true), #status-camera-status (only when suspended or revoked), #check-result (as above), #withdraw, #withdraw-dialog, #withdraw-reason,
 *                #withdraw-confirm, #withdraw-cancel, #withdraw-error, #status-rejected-note
 *                field-error paths: sharing url credentials credentials.username credentials.password reason
 */
import { requireElement } from '../dom.ts';
import { EnrolmentApi } from './EnrolmentApi.ts';
import { EnrolmentForm } from './EnrolmentForm.ts';
import { ReceiptView } from './ReceiptView.ts';
import { StatusPage } from './StatusPage.ts';
import { defaultLanguage, parseLanguage, type Language } from './texts.ts';
import { Translator } from './Translator.ts';

function start(): void {
  const params = new URLSearchParams(location.search);
  const requested = parseLanguage(params.get('lang'));
  const translator = new Translator(requested ?? defaultLanguage);
  document.documentElement.lang = translator.language;
  const api = new EnrolmentApi();
  const app = requireElement('#app', HTMLElement);
  const onStatusPage = /\/enrol\/status\/?$/.test(location.pathname);

  const switcher = requireElement('#lang-switch', HTMLButtonElement);
  const showSwitch = (language: Language): void => {
    // The button offers the other language, written in that language.
    switcher.lang = language === 'en' ? 'es-MX' : 'en';
    switcher.hidden = false;
  };
  translator.text(switcher, 'lang.switch');
  translator.attr(switcher, 'aria-label', 'lang.switchLabel');
  translator.text(requireElement('#brand-name', HTMLElement), 'brand.name');
  translator.text(requireElement('title', HTMLTitleElement), onStatusPage ? 'page.titleStatus' : 'page.titleEnrol');
  showSwitch(translator.language);
  switcher.addEventListener('click', () => translator.setLanguage(translator.language === 'en' ? 'es-MX' : 'en'));
  translator.onChange((language) => {
    showSwitch(language);
    // Keep the choice in the address (a reload keeps it); never the token, which is already gone.
    const url = new URL(location.href);
    url.searchParams.set('lang', language);
    url.hash = '';
    history.replaceState(history.state, '', `${url.pathname}${url.search}`);
  });

  if (onStatusPage) {
    const token = readToken();
    // Another link opened in this tab changes only the fragment: no page load, so start again.
    window.addEventListener('hashchange', () => {
      if (new URLSearchParams(location.hash.slice(1)).has('t')) location.reload();
    });
    const page = new StatusPage(translator, api, token, requested === undefined);
    app.replaceChildren(page.element);
    void page.load();
    return;
  }

  const intro = requireElement('#enrol-intro', HTMLElement);
  translator.text(requireElement('#enrol-heading', HTMLElement), 'enrol.heading');
  translator.text(requireElement('#enrol-intro-text', HTMLElement), 'enrol.intro');
  translator.text(requireElement('#enrol-required', HTMLElement), 'enrol.requiredNote');
  intro.hidden = false;
  const form = new EnrolmentForm(translator, api, (receipt) => {
    const view = new ReceiptView(translator, receipt);
    app.replaceChildren(view.element);
    view.focus();
  });
  app.replaceChildren(intro, form.element);
  void form.loadAgreement();
}

/** The status token from `#t=<token>`, then gone from the address bar (and so from history). */
function readToken(): string | undefined {
  const token = new URLSearchParams(location.hash.slice(1)).get('t') ?? undefined;
  if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
  return token || undefined;
}

start();
