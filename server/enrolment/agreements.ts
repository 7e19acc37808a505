/**
 * The citizen program's agreement, every version ever in force, in each language of the enrolment
 * page (issue 26). An enrolment records the version its owner accepted; a version's text never
 * changes once published: a change is a new version, named in config (ENROLMENT_AGREEMENT_VERSION).
 * Texts are Markdown-light: paragraphs, numbered items, **bold** and *italic*.
 */
import type { EnrolmentLanguage } from './EnrolmentRecord.ts';

export interface AgreementText {
  title: string;
  text: string;
}

export const agreements: Readonly<Record<string, Readonly<Record<EnrolmentLanguage, AgreementText>>>> = {
  '2026-12': {
    'es-MX': {
      title: "Convenio del programa de videovigilancia colaborativa",
      text: "1. **Qué compartes.** Conectas al Centro C5 una cámara que es tuya o que administras, y declaras que tienes derecho a hacerlo. La cámara debe enfocar la vía pública o el acceso a tu inmueble; no debe captar el interior de viviendas ajenas.\n2. **Cómo se usa.** Con la modalidad *en vivo*, el personal autorizado del C5 puede ver la transmisión en cualquier momento. Con la modalidad *solo en incidentes*, únicamente puede verla mientras atiende un incidente o una alerta cercana. Cada vez que alguien ve tu cámara queda registrado en la bitácora de auditoría del C5.\n3. **Revisión.** El C5 revisa cada solicitud antes de aceptarla, puede rechazarla indicando el motivo y puede suspender o dar de baja una cámara en cualquier momento.\n4. **Tu control.** Con tu enlace privado de seguimiento puedes consultar el estado, cambiar la modalidad, actualizar la dirección o las credenciales de la cámara, o retirarla del programa. Al retirarla, el C5 deja de verla de inmediato.\n5. **Tus datos.** Tu nombre, correo, teléfono y domicilio solo los ven los administradores del programa y nunca se publican. Si tu solicitud es rechazada, si retiras la cámara o si el C5 la da de baja, esos datos se borran después del plazo de conservación; la bitácora conserva únicamente el número de referencia.\n6. **Credenciales.** El usuario y la contraseña de la cámara se guardan cifrados y solo se usan para conectarse a ella. Te recomendamos crear un usuario exclusivo, de solo visualización, para el C5.",
    },
    en: {
      title: "Collaborative video program agreement",
      text: "1. **What you share.** You connect to the C5 a camera that you own or manage, and you declare that you have the right to do so. The camera must face the street or the entrance of your premises; it must not capture the inside of other people's homes.\n2. **How it is used.** With *live* sharing, authorised C5 staff may watch the stream at any time. With *incident-only* sharing, they may watch it only while handling an incident or a nearby alarm. Every view of your camera is recorded in the C5's audit trail.\n3. **Review.** The C5 reviews every enrolment before accepting it, may reject it with a reason, and may suspend or remove a camera at any time.\n4. **Your control.** With your private status link you can see the status, change the sharing, update the camera's address or credentials, or withdraw the camera from the program. Once withdrawn, the C5 stops watching it at once.\n5. **Your data.** Your name, e-mail, phone and address are seen only by the program's administrators and are never published. If your enrolment is rejected, you withdraw the camera or the C5 removes it, they are erased after the retention period; the audit trail keeps only the reference.\n6. **Credentials.** The camera's user name and password are stored encrypted and used only to connect to it. We recommend a dedicated, view-only user for the C5.",
    },
  },
};
