from django.db import migrations


def c_collation(apps, schema_editor):
    # Byte-order comparison for the materialized path, so range scans find exactly the subtree.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE orgs_organization ALTER COLUMN path TYPE varchar(255) COLLATE "C"')


class Migration(migrations.Migration):
    dependencies = [("orgs", "0001_initial")]
    operations = [migrations.RunPython(c_collation, migrations.RunPython.noop)]
