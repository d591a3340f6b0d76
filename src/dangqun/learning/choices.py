"""Choices of the learning app: content kinds, topics, posts, levels, channels, statuses."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    ARTICLE = "article", _("文章")
    DOCUMENT = "document", _("文件（PDF）")
    VIDEO = "video", _("视频")
    AUDIO = "audio", _("音频")
    COURSE = "course", _("课程")
    QUIZ = "quiz", _("测验")


class Topic(models.TextChoices):
    THEORY = "theory", _("理论学习")
    CONSTITUTION = "constitution", _("党章党规")
    HISTORY = "history", _("党史学习")
    POLICY = "policy", _("政策解读")
    RURAL = "rural", _("乡村振兴")
    GOVERNANCE = "governance", _("基层治理")
    HEALTH = "health", _("医疗卫生")
    EDUCATION = "education", _("教育工作")
    ENTERPRISE = "enterprise", _("企业发展")
    LAW = "law", _("法治建设")
    INTEGRITY = "integrity", _("廉洁自律")
    SERVICE = "service", _("为民服务")


class Post(models.TextChoices):
    """A learner's post or industry (岗位/行业), the first signal of the recommender."""

    TEACHER = "teacher", _("教师")
    MEDICAL = "medical", _("医护")
    VILLAGE_CADRE = "village_cadre", _("村干部")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    ENTERPRISE = "enterprise", _("企业职工")
    CIVIL_SERVANT = "civil_servant", _("机关干部")
    FARMER = "farmer", _("农民")
    RETIRED = "retired", _("退休")
    STUDENT = "student", _("学生")
    OTHER = "other", _("其他")


# Words describing each post: the cold-start profile of a new learner (TF-IDF over these).
POST_WORDS: dict[str, str] = {
    Post.TEACHER: "教师 教育 学校 学生 课堂 立德树人 师德 教学 育人",
    Post.MEDICAL: "医护 医疗 卫生 健康 医院 患者 医德 公共卫生 防疫",
    Post.VILLAGE_CADRE: "村干部 乡村振兴 农村 村务 集体经济 土地 基层治理 四议两公开 村民",
    Post.COMMUNITY_WORKER: "社区 基层治理 网格 居民 为民服务 物业 志愿服务 党群服务",
    Post.ENTERPRISE: "企业 职工 生产 安全生产 创新 非公企业 劳动 营商环境",
    Post.CIVIL_SERVANT: "机关 干部 政策 依法行政 作风 廉洁 服务群众 法治",
    Post.FARMER: "农民 农业 种植 乡村振兴 合作社 农村 土地 惠农政策",
    Post.RETIRED: "退休 老党员 党史 健康 养老 老年 传承 社区",
    Post.STUDENT: "学生 青年 学习 理论 党史 成长 志愿服务 校园",
    Post.OTHER: "党员 学习 理论 党章 政策",
}


class Level(models.TextChoices):
    BASIC = "basic", _("入门")
    ADVANCED = "advanced", _("进阶")
    SPECIAL = "special", _("专题")


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已下架")


class Audience(models.TextChoices):
    """Who a requirement binds (党员教育管理工作条例 第二十条: 32 / 56 学时)."""

    ALL = "all", _("全体党员")
    CADRES = "cadres", _("书记和班子成员")


class AgeGroup(models.TextChoices):
    YOUTH = "youth", _("35岁以下")
    MIDDLE = "middle", _("35至59岁")
    SENIOR = "senior", _("60岁及以上")


class ProductKind(models.TextChoices):
    """The products one source is turned into (一次采集、分类制作)."""

    WEB = "web", _("网页文章")
    CARD = "card", _("手机卡片")
    SMS = "sms", _("短消息摘要")
    BULLETIN = "bulletin", _("打印简报（PDF）")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("待审核")
    APPROVED = "approved", _("已审核")


class Channel(models.TextChoices):
    """The channels a push goes out over (多端分发)."""

    IN_APP = "in_app", _("站内消息")
    EMAIL = "email", _("电子邮件摘要")
    RSS = "rss", _("RSS/Atom 订阅")
    WEBHOOK = "webhook", _("外部应用（签名回调）")


# Which product each channel carries.
CHANNEL_PRODUCT: dict[str, str] = {
    Channel.IN_APP: ProductKind.CARD,
    Channel.EMAIL: ProductKind.WEB,
    Channel.RSS: ProductKind.WEB,
    Channel.WEBHOOK: ProductKind.CARD,
}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已送达")
    FAILED = "failed", _("发送失败")
    SKIPPED = "skipped", _("无地址，未发送")
