"""Everything that people read: alert words (``words``), the published document (``document``), the email
(``email``), Slack (``slack``) and CloudWatch alarms in Slack (``alarms``). Light: loaded on cold starts.
"""
