/**
 * One open incident in the operator's panel: a header that expands it (title, kind, municipality,
 * cameras), and inside its cameras (click or Enter puts one on the wall; detach; attach by code;
 * all on the wall at once), its grants (time left, extend, revoke; grant a new one), closing it,
 * and its report as a JSON download. The list keeps one card per incident and updates it in place,
 * so what the operator is typing survives the refreshes.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { CloseIncidentForm } from './CloseIncidentForm.ts';
import { busy, button, disclose, distance, field, humanise, input, replaceKeepingFocus, shortTime, StatusLine, uniqueId } from './forms.ts';
import { GrantForm } from './GrantForm.ts';
import { GrantRow } from './GrantRow.ts';
import type { GrantView, IncidentDetail, IncidentsApi, IncidentView, Investigator } from './IncidentsApi.ts';
import { readCameraCodes } from './incidentInput.ts';

export interface IncidentCardEvents {
  /** Put this camera on the wall (the selected tile). */
  pick: [code: string];
  /** Put these cameras on the wall. */
  fill: [codes: string[]];
  /** The incident changed here (cameras, grants, closed): the panel refreshes. */
  changed: [];
  /** The operator closed the incident here. */
  closed: [incident: IncidentView];
}

export class IncidentCard extends Emitter<IncidentCardEvents> {
  readonly el: HTMLLIElement;
  #incident: IncidentView;
  #grants: GrantView[] = [];
  #expanded = false;
  /** Bumped at each detail request: older answers are dropped. */
  #detailGeneration = 0;
  readonly #toggle: HTMLButtonElement;
  readonly #title: HTMLSpanElement;
  readonly #meta: HTMLSpanElement;
  readonly #body: HTMLDivElement;
  readonly #cameraList: HTMLUListElement;
  readonly #grantList: HTMLUListElement;
  readonly #grantRows = new Map<string, GrantRow>();
  readonly #grantForm: GrantForm;
  readonly #status = new StatusLine();

  constructor(
    incident: IncidentView,
    private readonly api: IncidentsApi,
    investigators: () => Promise<Investigator[]>,
  ) {
    super();
    this.#incident = incident;
    const bodyId = uniqueId('incident-body');
    this.#title = element('span', { className: 'incident-title' });
    this.#meta = element('span', { className: 'incident-meta' });
    this.#toggle = element('button', { className: 'incident-toggle', attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': bodyId } }, [this.#title, this.#meta]);
    this.#toggle.addEventListener('click', () => this.setExpanded(!this.#expanded));

    // Cameras.
    this.#cameraList = element('ul', { className: 'incident-cameras', attrs: { 'aria-label': 'Cameras of the incident' } });
    this.#cameraList.addEventListener('click', (event) => {
      const target = (event.target as Element | null)?.closest<HTMLButtonElement>('button[data-code]');
      const code = target?.dataset.code;
      if (!target || !code) return;
      if (target.dataset.action === 'detach') void this.#detach(target, code);
      else this.emit('pick', code);
    });
    const showAll = button('All on the wall', { 'data-action': 'fill' }, 'form-button small');
    showAll.addEventListener('click', () => this.emit('fill', this.#incident.cameras.map((camera) => camera.code)));
    const attachCode = input({ maxlength: '700', placeholder: 'camera code(s)', 'data-field': 'attach', spellcheck: 'false', autocapitalize: 'none' });
    const attachButton = element('button', { className: 'form-button small', text: 'Attach', attrs: { type: 'submit' } });
    const attachForm = element('form', { className: 'attach-form', attrs: { 'aria-label': 'Attach cameras', novalidate: '' } }, [field('Attach a camera by code', attachCode), attachButton]);
    attachForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#attach(attachCode, attachButton);
    });

    // Grants.
    this.#grantList = element('ul', { className: 'grant-list', attrs: { 'aria-label': 'Grants' } });
    this.#grantForm = new GrantForm(incident.id, api, investigators);
    this.#grantForm.el.hidden = true;
    const grantToggle = button('Grant access…', { 'data-action': 'grant' }, 'form-button small');
    disclose(grantToggle, this.#grantForm.el, () => void this.#grantForm.load());
    this.#grantForm.on('granted', (grant) => {
      this.#grants = [...this.#grants.filter((g) => g.id !== grant.id), grant];
      this.#renderGrants();
      this.emit('changed');
    });

    // Closing, report.
    const closeForm = new CloseIncidentForm(incident.id, api);
    closeForm.el.hidden = true;
    const closeToggle = button('Close incident…', { 'data-action': 'close' }, 'form-button small danger');
    disclose(closeToggle, closeForm.el);
    closeForm.on('closed', (closed) => {
      this.update(closed);
      this.emit('closed', closed);
    });
    const report = button('Download report', { 'data-action': 'report' }, 'form-button small');
    report.addEventListener('click', () => void this.#downloadReport(report));

    this.#body = element('div', { className: 'incident-body', attrs: { id: bodyId } }, [
      element('div', { className: 'incident-section-head' }, [element('h3', { text: 'Cameras' }), showAll]),
      this.#cameraList,
      attachForm,
      element('div', { className: 'incident-section-head' }, [element('h3', { text: 'Investigators' }), grantToggle]),
      this.#grantList,
      this.#grantForm.el,
      element('div', { className: 'incident-section-head' }, [closeToggle, report]),
      closeForm.el,
      this.#status.el,
    ]);
    this.#body.hidden = true;
    this.el = element('li', { className: 'incident', attrs: { 'data-incident-id': incident.id } }, [this.#toggle, this.#body]);
    this.update(incident);
  }

  get incident(): IncidentView {
    return this.#incident;
  }

  get expanded(): boolean {
    return this.#expanded;
  }

  setExpanded(expanded: boolean): void {
    this.#expanded = expanded;
    this.#body.hidden = !expanded;
    this.#toggle.setAttribute('aria-expanded', String(expanded));
    this.el.classList.toggle('expanded', expanded);
    if (expanded) void this.refreshDetail();
  }

  /** The incident as the list (or an action) returned it. */
  update(incident: IncidentView): void {
    this.#incident = incident;
    this.el.dataset.status = incident.status;
    this.#title.textContent = incident.title;
    const count = incident.cameras.length;
    const live = this.#grants.filter((grant) => grant.live).length;
    this.#meta.textContent = [
      humanise(incident.kind),
      incident.municipality,
      `${count} camera${count === 1 ? '' : 's'}`,
      ...(live > 0 ? [`${live} grant${live === 1 ? '' : 's'}`] : []),
      incident.status === 'closed' ? `closed ${shortTime(incident.closedAt)}` : `opened ${shortTime(incident.openedAt)} by ${incident.openedBy.username}`,
    ].join(' · ');
    this.#renderCameras();
    this.#grantForm.setCameras(incident.cameras);
  }

  /** Loads the incident with its grants (when expanded). */
  async refreshDetail(): Promise<void> {
    if (!this.#expanded) return;
    const generation = ++this.#detailGeneration;
    let detail: IncidentDetail;
    try {
      detail = await this.api.incident(this.#incident.id);
    } catch (error) {
      if (generation === this.#detailGeneration) this.#status.error(`could not load the incident: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (generation !== this.#detailGeneration) return;
    this.#grants = Array.isArray(detail.grants) ? detail.grants : [];
    this.#renderGrants();
    this.update(detail);
  }

  /** Redraws the grants' time left. */
  tick(now: number): void {
    for (const row of this.#grantRows.values()) row.tick(now);
  }

  /** Whether a grant the server still calls live is past its end by more than `graceMs`. */
  hasOverdueGrant(now: number, graceMs: number): boolean {
    return this.#grants.some((grant) => grant.live && Date.parse(grant.endsAt) + graceMs < now);
  }

  /** A camera's name, if it is attached here. */
  cameraName(code: string): string | undefined {
    return this.#incident.cameras.find((camera) => camera.code === code)?.name;
  }

  #renderCameras(): void {
    const incident = this.#incident;
    const open = incident.status === 'open';
    const items = incident.cameras.map((camera) => {
      const pick = element('button', { className: 'incident-camera', attrs: { type: 'button', 'data-code': camera.code, 'data-focus-key': `pick-${camera.code}`, title: `Show ${camera.name} on the wall` } }, [
        element('span', { className: 'camera-name', text: camera.name }),
        element('span', { className: 'camera-meta' }, [
          element('span', { className: 'camera-code', text: camera.code }),
          ` · ${camera.municipality}${camera.area === 'citizen' ? ' · citizen' : ''}${camera.distanceM !== undefined ? ` · ${distance(camera.distanceM)}` : ''}`,
        ]),
      ]);
      const children: Node[] = [pick];
      if (open) {
        children.push(
          element('button', {
            className: 'form-button small detach',
            text: 'Detach',
            attrs: { type: 'button', 'data-action': 'detach', 'data-code': camera.code, 'data-focus-key': `detach-${camera.code}`, 'aria-label': `Detach ${camera.name} (${camera.code})` },
          }),
        );
      }
      return element('li', { className: 'incident-camera-row', attrs: { 'data-camera-code': camera.code } }, children);
    });
    if (items.length === 0) items.push(element('li', { className: 'field-hint', text: 'No camera attached yet.' }));
    replaceKeepingFocus(this.#cameraList, items);
  }

  #renderGrants(): void {
    const seen = new Set<string>();
    // Live grants first, then the most recent.
    const grants = [...this.#grants].sort((a, b) => Number(b.live) - Number(a.live) || b.createdAt.localeCompare(a.createdAt));
    const rows: HTMLLIElement[] = [];
    for (const grant of grants) {
      seen.add(grant.id);
      let row = this.#grantRows.get(grant.id);
      if (row) row.update(grant);
      else {
        row = new GrantRow(grant, this.api);
        row.on('changed', (changed) => {
          this.#grants = this.#grants.map((g) => (g.id === changed.id ? changed : g));
          this.emit('changed');
        });
        this.#grantRows.set(grant.id, row);
      }
      rows.push(row.el);
    }
    for (const id of [...this.#grantRows.keys()]) if (!seen.has(id)) this.#grantRows.delete(id);
    if (rows.length === 0) rows.push(element('li', { className: 'field-hint', text: 'No investigator has access.' }));
    // Rows are reused: appending moves them, so focus and typed reasons stay.
    const same = rows.length === this.#grantList.children.length && rows.every((row, i) => this.#grantList.children[i] === row);
    if (!same) this.#grantList.replaceChildren(...rows);
  }

  async #detach(control: HTMLButtonElement, code: string): Promise<void> {
    const incident = await busy(control, this.#status, () => this.api.detachCamera(this.#incident.id, code));
    if (!incident) return;
    const hadFocus = document.activeElement === control;
    this.update(incident);
    // The button is gone with its camera: the focus goes to the next camera, or the list's heading.
    if (hadFocus || document.activeElement === document.body) {
      (this.#cameraList.querySelector<HTMLElement>('button') ?? this.#toggle).focus();
    }
    this.#status.info(`Detached ${code}.`);
    this.emit('changed');
  }

  async #attach(codeInput: HTMLInputElement, control: HTMLButtonElement): Promise<void> {
    const codes = readCameraCodes(codeInput.value);
    if (codes.length === 0) {
      this.#status.error('type a camera code');
      codeInput.focus();
      return;
    }
    const incident = await busy(control, this.#status, () => this.api.attachCameras(this.#incident.id, codes));
    if (!incident) return;
    codeInput.value = '';
    this.update(incident);
    this.#status.info(`Attached ${codes.join(', ')}.`);
    this.emit('changed');
  }

  async #downloadReport(control: HTMLButtonElement): Promise<void> {
    const text = await busy(control, this.#status, () => this.api.report(this.#incident.id));
    if (text === undefined) return;
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const link = element('a', { attrs: { href: url, download: `incident-${this.#incident.id}.json` } });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
