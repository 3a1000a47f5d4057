-- 索儿's notifications (issue 20): a due reminder, and seasonal advice at a solar term.
alter table "user".notifications drop constraint notifications_kind_known;
alter table "user".notifications
  add constraint notifications_kind_known check (kind in ('REPORT_READY', 'REMINDER', 'SEASONAL_ADVICE'));
