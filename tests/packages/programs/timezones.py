# The time-zone database is there for zoneinfo, pytz and dateutil alike.
import datetime
import zoneinfo

import pytz
from dateutil import parser, tz

ny = zoneinfo.ZoneInfo("America/New_York")
winter = datetime.datetime(2026, 1, 15, 12, tzinfo=ny)
summer = datetime.datetime(2026, 7, 15, 12, tzinfo=ny)
print(winter.utcoffset(), winter.tzname(), summer.utcoffset(), summer.tzname())
print(datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.timezone.utc)
      .astimezone(zoneinfo.ZoneInfo("Europe/Paris")).isoformat())
zones = zoneinfo.available_timezones()
print("Asia/Tokyo" in zones, "US/Eastern" in zones, len(zones) > 400)

paris = pytz.timezone("Europe/Paris")
print(paris.localize(datetime.datetime(2026, 7, 1, 9)).isoformat(), pytz.utc.zone)

print(parser.parse("2026-07-04 10:00 EDT", tzinfos={"EDT": tz.gettz("America/New_York")}).isoformat())
print(datetime.datetime(2026, 1, 1, tzinfo=tz.gettz("Asia/Kolkata")).utcoffset())
