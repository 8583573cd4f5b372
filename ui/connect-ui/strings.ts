/** Every word the Connect UI shows, per language. English is the fallback for a language not listed. */
export interface Strings {
  title: string;
  close: string;
  back: string;
  loading: string;
  search: string;
  searchHint: string;
  noMatch: string;
  noIntegrations: string;
  connectTo: (name: string) => string;
  connect: string;
  connecting: string;
  openPopup: string;
  popupHint: string;
  popupBlocked: string;
  popupClosed: string;
  required: string;
  badForm: string;
  optional: string;
  connected: (name: string) => string;
  connectedHint: string;
  expired: string;
  expiredHint: string;
  noSession: string;
  failed: string;
  unreachable: string;
  reconnectHint: string;
  fields: Record<string, string>;
}

const en: Strings = {
  title: 'Connect an account',
  close: 'Close',
  back: 'Back to the list',
  loading: 'Loading…',
  search: 'Search integrations',
  searchHint: 'Type to filter the list.',
  noMatch: 'No integration matches this search.',
  noIntegrations: 'This session allows no integration.',
  connectTo: (name) => `Connect ${name}`,
  connect: 'Connect',
  connecting: 'Connecting…',
  openPopup: 'Continue in a new window',
  popupHint: 'A window opens where you sign in and grant access. Come back here when it closes.',
  popupBlocked: 'The browser blocked the sign-in window. Allow pop-ups for this page and try again.',
  popupClosed: 'The sign-in window was closed before the connection was made.',
  required: 'This field is required.',
  badForm: 'This value does not have the expected form.',
  optional: 'optional',
  connected: (name) => `${name} is connected`,
  connectedHint: 'You can close this window.',
  expired: 'This connect link has expired',
  expiredHint: 'Links are valid for a short time. Ask the application for a new one.',
  noSession: 'No connect session was given to this page.',
  failed: 'The connection was refused.',
  unreachable: 'The server could not be reached. Check your network and try again.',
  reconnectHint: 'Enter new credentials for your existing connection.',
  fields: {
    apiKey: 'API key',
    username: 'User name',
    password: 'Password',
    token_id: 'Token ID',
    token_secret: 'Token secret',
    oauth_client_id_override: 'Client ID',
    oauth_client_secret_override: 'Client secret',
    organization_id: 'Organization ID',
    dev_key: 'Developer key',
    client_id: 'Client ID',
    client_secret: 'Client secret',
    privateKey: 'Private key (PEM)',
    'privateKey.id': 'Key ID',
    'privateKey.secret': 'Key secret',
    issuerId: 'Issuer ID',
    privateKeyId: 'Key ID',
    subdomain: 'Subdomain',
  },
};

const fr: Strings = {
  title: 'Connecter un compte',
  close: 'Fermer',
  back: 'Retour à la liste',
  loading: 'Chargement…',
  search: 'Rechercher une intégration',
  searchHint: 'Tapez pour filtrer la liste.',
  noMatch: 'Aucune intégration ne correspond à cette recherche.',
  noIntegrations: 'Cette session n’autorise aucune intégration.',
  connectTo: (name) => `Connecter ${name}`,
  connect: 'Connecter',
  connecting: 'Connexion…',
  openPopup: 'Continuer dans une nouvelle fenêtre',
  popupHint: 'Une fenêtre s’ouvre pour vous connecter et accorder l’accès. Revenez ici quand elle se ferme.',
  popupBlocked: 'Le navigateur a bloqué la fenêtre de connexion. Autorisez les fenêtres pour cette page et réessayez.',
  popupClosed: 'La fenêtre de connexion a été fermée avant la fin.',
  required: 'Ce champ est obligatoire.',
  badForm: 'Cette valeur n’a pas la forme attendue.',
  optional: 'facultatif',
  connected: (name) => `${name} est connecté`,
  connectedHint: 'Vous pouvez fermer cette fenêtre.',
  expired: 'Ce lien de connexion a expiré',
  expiredHint: 'Les liens sont valables peu de temps. Demandez-en un nouveau à l’application.',
  noSession: 'Aucune session de connexion n’a été donnée à cette page.',
  failed: 'La connexion a été refusée.',
  unreachable: 'Le serveur est injoignable. Vérifiez votre réseau et réessayez.',
  reconnectHint: 'Saisissez de nouveaux identifiants pour votre connexion existante.',
  fields: {
    apiKey: 'Clé d’API',
    username: 'Nom d’utilisateur',
    password: 'Mot de passe',
    token_id: 'ID du jeton',
    token_secret: 'Secret du jeton',
    oauth_client_id_override: 'ID client',
    oauth_client_secret_override: 'Secret client',
    organization_id: 'ID de l’organisation',
    dev_key: 'Clé de développeur',
    client_id: 'ID client',
    client_secret: 'Secret client',
    privateKey: 'Clé privée (PEM)',
    'privateKey.id': 'ID de la clé',
    'privateKey.secret': 'Secret de la clé',
    issuerId: 'ID de l’émetteur',
    privateKeyId: 'ID de la clé',
    subdomain: 'Sous-domaine',
  },
};

const LANGUAGES: Record<string, Strings> = { en, fr };

/** The strings for a `lang` parameter (`fr`, `fr-CA`), English when it names no language listed here. */
export function stringsFor(lang: string | null): { lang: string; strings: Strings } {
  const code = (lang ?? '').toLowerCase().split('-')[0] ?? '';
  return LANGUAGES[code] ? { lang: code, strings: LANGUAGES[code] } : { lang: 'en', strings: en };
}

/** A field's label: its translation, else its name made readable (`account_id` → `Account id`). */
export function fieldLabel(strings: Strings, name: string): string {
  const known = strings.fields[name];
  if (known) return known;
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[._-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
