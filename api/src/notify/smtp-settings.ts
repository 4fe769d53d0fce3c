/** The mail server and recipients of the e-mail channel (Grafana's GRAFANA_SMTP_* and ALERT_EMAIL_TO). */
export interface SmtpSettings {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  from: string;
  to: string[];
}
