from django.urls import path

from . import views

app_name = "learning"
urlpatterns = [
    path("", views.index, name="index"),
    path("profile/", views.set_profile, name="profile"),
    path("topics/", views.hide_topic, name="hide_topic"),
    path("search/", views.search, name="search"),
    path("items/<int:pk>/", views.item, name="item"),
    path("items/<int:pk>/finish/", views.finish, name="finish"),
    path("branch/", views.branch, name="branch"),
    path("library/", views.library, name="library"),
    path("sources/", views.sources, name="sources"),
    path("sources/<int:pk>/", views.source, name="source"),
    path("products/<int:pk>/", views.product, name="product"),
    path("pushes/<int:pk>/run/", views.rerun, name="rerun"),
    path("articles/<int:pk>/", views.article, name="article"),
    path("articles/<int:pk>/bulletin.pdf", views.bulletin, name="bulletin"),
    path("feed/rss/", views.RssFeed(), name="rss"),
    path("feed/atom/", views.AtomFeed(), name="atom"),
]
